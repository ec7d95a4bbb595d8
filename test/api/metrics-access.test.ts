import t from 'tap'
import { buildMetricsListener } from '../../src/routes/metrics-listener.js'
import { bearer, createTenant, json, startApp } from '../helpers.js'

const TOKEN = 'metrics-token-0123456789'

t.test('without METRICS_TOKEN the metrics are on the metrics listener only', async (t) => {
  const app = await startApp(t)
  await createTenant(app, 's.shop.dk')
  for (const host of ['localhost', 's.shop.dk']) {
    const response = await app.inject({ url: '/metrics', headers: { host } })
    t.equal(response.statusCode, 404, `main port, ${host}`)
    t.match(response.headers['content-type'], /^text\/html/)
    t.notMatch(response.body, /smslinks_/, 'nothing leaks')
  }
  const listener = await buildMetricsListener(app.services)
  t.teardown(() => listener.close())
  // Whatever Host it is asked under: who may scrape is decided by where the port is bound.
  for (const host of ['127.0.0.1:9464', 's.shop.dk']) {
    const scrape = await listener.inject({ url: '/metrics', headers: { host } })
    t.equal(scrape.statusCode, 200, host)
    t.match(scrape.headers['content-type'], /^text\/plain; version=0\.0\.4/)
    t.match(scrape.body, /^smslinks_click_queue_depth 0$/m)
    t.match(scrape.body, /^smslinks_clicks_dropped_total 0$/m)
  }
  for (const url of ['/', '/v1/tenants', '/healthz', '/docs', '/metrics/x']) {
    const other = await listener.inject({ url })
    t.equal(other.statusCode, 404, `the listener serves nothing else: ${url}`)
    t.match(other.body, /GET \/metrics only/)
  }
})

t.test("with METRICS_TOKEN, /metrics needs it everywhere, and the main port's own hosts serve it", async (t) => {
  const app = await startApp(t, { env: { METRICS_TOKEN: TOKEN } })
  await createTenant(app, 's.shop.dk')
  const listener = await buildMetricsListener(app.services)
  t.teardown(() => listener.close())
  for (const [name, server] of [
    ['main port', app],
    ['metrics listener', listener],
  ] as const) {
    const none = await server.inject({ url: '/metrics' })
    t.equal(none.statusCode, 401, `${name}: no token`)
    t.match(json(none), { error: 'unauthorized', message: /METRICS_TOKEN/ })
    const right = await server.inject({ url: '/metrics', headers: bearer(TOKEN) })
    t.equal(right.statusCode, 200, `${name}: the token`)
    t.match(right.body, /^smslinks_redirects_total\{outcome="redirected"\} 0$/m)
  }
  const tenant = await app.inject({ url: '/metrics', headers: { ...bearer(TOKEN), host: 's.shop.dk' } })
  t.equal(tenant.statusCode, 404, "never on a tenant's domain, token or not")
  t.notMatch(tenant.body, /smslinks_/)
})

t.test('both places read the same figures', async (t) => {
  const app = await startApp(t, { env: { METRICS_TOKEN: TOKEN } })
  const listener = await buildMetricsListener(app.services)
  t.teardown(() => listener.close())
  await app.inject({ url: '/abcdef', headers: { host: 'nobody.example' } })
  for (const server of [app, listener]) {
    const body = (await server.inject({ url: '/metrics', headers: bearer(TOKEN) })).body
    t.match(body, /^smslinks_redirects_total\{outcome="unknown_host"\} 1$/m)
  }
})
