import t from 'tap'
import {
  bearer,
  captureLogs,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  tap,
  withEachBackend,
} from '../helpers.js'

withEachBackend(t, (t) => {
  t.test('healthz and readyz answer 200 on a healthy service', async (t) => {
    const app = await startApp(t)
    const health = await app.inject({ url: '/healthz' })
    t.equal(health.statusCode, 200)
    t.same(json(health), { status: 'ok' })
    const ready = await app.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 200)
    t.same(json(ready), { status: 'ready' })
  })

  t.test('readyz is 503 when the database no longer takes writes; healthz stays 200', async (t) => {
    const log = captureLogs()
    const app = await startApp(t, { logger: log.logger })
    t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
    // The database goes away underneath the running service.
    await app.services.store.close()
    const ready = await app.inject({ url: '/readyz' })
    t.equal(ready.statusCode, 503)
    t.same(json(ready), { status: 'not_ready', reasons: ['database_not_writable'] })
    t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'the process is still alive')
    t.ok(
      log.lines.some((line) => line.msg.startsWith('readiness: the database does not take writes') && line.err),
      'the cause is logged for the operator',
    )
  })

  t.test('readyz is 503 while the click queue is full, and ready again once it is written', async (t) => {
    const app = await startApp(t, { env: { CLICK_QUEUE_MAX: '2' } })
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
    await tap(app, message.recipients[0].links[0])
    t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'room for one more')
    await tap(app, message.recipients[1].links[0])
    const full = await app.inject({ url: '/readyz' })
    t.equal(full.statusCode, 503)
    t.same(json(full), { status: 'not_ready', reasons: ['click_queue_full'] })
    await flushClicks(app)
    t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
  })

  t.test('probes, metrics and the OpenAPI document are not logged', async (t) => {
    const log = captureLogs()
    // The main port serves /metrics only with METRICS_TOKEN set.
    const token = 'metrics-token-0123456789'
    // A stall warning is no request log: building the OpenAPI document the first time
    // may hold the loop past EVENT_LOOP_STALL_WARN_MS on a busy machine.
    const app = await startApp(t, {
      logger: log.logger,
      env: { METRICS_TOKEN: token, EVENT_LOOP_STALL_WARN_MS: '0' },
    })
    log.lines.length = 0
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      t.ok((await app.inject({ url, headers: bearer(token) })).statusCode < 400, url)
    }
    t.same(log.lines, [])
  })
})
