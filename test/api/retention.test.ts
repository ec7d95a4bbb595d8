import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { RetentionJob } from '../../src/retention/retention-job.js'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  stats,
  tap,
  UA,
  withEachBackend,
} from '../helpers.js'
import { queryRows } from '../fixtures/store-backends.js'
import { eventually, FAST_WEBHOOKS, startReceiver } from '../fixtures/webhook-receiver.js'

const DAY = 86_400_000

async function rows(app: FastifyInstance, table: string): Promise<number> {
  return (await queryRows<{ n: number }>(app.services.store, `SELECT count(*) AS n FROM ${table}`))[0]!.n
}

withEachBackend(t, (t) => {
  t.test('raw clicks and finished outbox rows past the window are deleted; stats stay the same', async (t) => {
    const receiver = await startReceiver(t, () => 204)
    const app = await startApp(t, { env: FAST_WEBHOOKS })
    const { key } = await createTenant(app)
    const hook = await app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(key),
      payload: { url: receiver.url, events: ['click'] },
    })
    t.equal(hook.statusCode, 201)
    const message = json(
      await postMessage(app, key, {
        links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }],
        recipients: ['a', 'b', 'c'],
      }),
    )
    const [a, b] = message.recipients
    await tap(app, a.links[0])
    await tap(app, a.links[0])
    await tap(app, a.links[1])
    await tap(app, b.links[1])
    await tap(app, b.links[1], { userAgent: UA.whatsapp })
    await tap(app, message.links[0].shortUrl)
    const before = await stats(app, key, message.id)
    t.match(before.clicks, { total: 5, unique: 2, bots: 0, previews: 1 })
    t.equal(await rows(app, 'clicks'), 6)
    await eventually(t, 'every event delivered', () => receiver.received.length === 6)
    await eventually(t, 'every delivery stored', async () => (await rows(app, 'webhook_attempts')) === 6)

    const kept = await app.services.retention.run(Date.now() + 399 * DAY)
    t.same(kept, { clicks: 0, webhookRows: 0 }, 'inside the 400-day window nothing goes')
    t.equal(await rows(app, 'clicks'), 6)

    const pruned = await app.services.retention.run(Date.now() + 401 * DAY)
    t.same(pruned, { clicks: 6, webhookRows: 12 }, '6 clicks, 6 events and 6 attempts')
    t.equal(await rows(app, 'clicks'), 0)
    t.equal(await rows(app, 'webhook_events'), 0)
    t.equal(await rows(app, 'webhook_attempts'), 0)
    t.same(await stats(app, key, message.id), before, 'stats before == stats after')

    // The first click decisions stay: a returning recipient is not unique a second time.
    await tap(app, a.links[0])
    await tap(app, message.recipients[2].links[0])
    const after = await stats(app, key, message.id)
    t.match(after.clicks, { total: 7, unique: 3, bots: 0, previews: 1 })
  })

  t.test('pending webhook events are kept however old', async (t) => {
    const receiver = await startReceiver(t, () => 500)
    const app = await startApp(t, {
      env: { ...FAST_WEBHOOKS, WEBHOOK_RETRY_BASE_MS: '3600000', WEBHOOK_RETRY_MAX_MS: '3600000' },
    })
    const { key } = await createTenant(app)
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(key),
      payload: { url: receiver.url, events: ['click'] },
    })
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    await tap(app, message.recipients[0].links[0])
    await flushClicks(app)
    await eventually(t, 'the first attempt failed', async () => (await rows(app, 'webhook_attempts')) === 1)
    const result = await app.services.retention.run(Date.now() + 401 * DAY)
    t.same(result, { clicks: 1, webhookRows: 1 }, 'the click and the old attempt go')
    t.equal(await rows(app, 'webhook_events'), 1, 'the pending event stays')
  })

  t.test('deletion runs in batches of the configured size', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
    for (let i = 0; i < 7; i++) await tap(app, message.recipients[i % 2].links[0])
    const before = await stats(app, key, message.id)
    const calls: number[] = []
    const store = app.services.store
    const counting = Object.create(store) as typeof store
    counting.deleteClicksBefore = async (at, limit) => {
      const n = await store.deleteClicksBefore(at, limit)
      calls.push(n)
      return n
    }
    const job = new RetentionJob(counting, { retentionDays: 1, intervalMs: 60_000, batchSize: 3 }, app.log)
    t.same(await job.run(Date.now() + 2 * DAY), { clicks: 7, webhookRows: 0 })
    t.same(calls, [3, 3, 1], 'three transactions')
    t.equal(await rows(app, 'clicks'), 0)
    t.same(await stats(app, key, message.id), before)
  })

  t.test('the background job prunes on its own, soon after start and every interval', async (t) => {
    const app = await startApp(t, { env: { CLICK_RETENTION_DAYS: '1', RETENTION_INTERVAL_MS: '50' } })
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    await tap(app, message.recipients[0].links[0])
    await tap(app, message.recipients[0].links[0])
    const before = await stats(app, key, message.id)
    t.equal(await rows(app, 'clicks'), 2)
    // Age one click past the one-day window, as time would.
    await queryRows(app.services.store, 'UPDATE clicks SET at = at - ? WHERE id = (SELECT min(id) FROM clicks)', [
      2 * DAY,
    ])
    await eventually(t, 'the old click is deleted', async () => (await rows(app, 'clicks')) === 1)
    t.same(await stats(app, key, message.id), before)
    t.ok(app.services.retention.deleted.clicks >= 1)
  })

  t.test('cache changes older than an hour go with a run; newer ones stay', async (t) => {
    const app = await startApp(t)
    await createTenant(app, 's.pruned.dk')
    const changes = () => rows(app, 'cache_changes')
    t.ok((await changes()) >= 1, 'adding the domain recorded a change')
    const kept = await changes()
    await app.services.retention.run(Date.now() + 30 * 60_000)
    t.equal(await changes(), kept, 'half an hour later: kept')
    await app.services.retention.run(Date.now() + 61 * 60_000)
    t.equal(await changes(), 0, 'an hour later: gone')
  })

  t.test('CLICK_RETENTION_DAYS and RETENTION_INTERVAL_MS are validated', async (t) => {
    t.equal(loadConfig({}).clickRetentionDays, 400)
    t.equal(loadConfig({}).retentionIntervalMs, 3_600_000)
    t.throws(() => loadConfig({ CLICK_RETENTION_DAYS: '0' }), {
      message: /^CLICK_RETENTION_DAYS must be a whole number from 1 to 36500/,
    })
    t.throws(() => loadConfig({ CLICK_RETENTION_DAYS: 'forever' }), { message: /^CLICK_RETENTION_DAYS/ })
    t.throws(() => loadConfig({ RETENTION_INTERVAL_MS: '-5' }), { message: /^RETENTION_INTERVAL_MS/ })
  })
})
