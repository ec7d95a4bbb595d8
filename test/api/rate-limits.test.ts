import t from 'tap'
import { admin, bearer, createTenant, flushClicks, json, postMessage, startApp, stats, tap } from '../helpers.js'

t.test('the API is limited per API key, with a JSON 429 and Retry-After', async (t) => {
  const app = await startApp(t, { env: { API_RATE_LIMIT_PER_MINUTE: '10' } })
  // Setting up the tenants takes 6 admin calls: the admin token has a budget of its own.
  const a = await createTenant(app, 's.a.dk', 'A')
  const b = await createTenant(app, 's.b.dk', 'B')
  const list = (key: string, address = '198.51.100.1') =>
    app.inject({ url: '/v1/messages', headers: bearer(key), remoteAddress: address })
  for (let i = 0; i < 10; i++) {
    const ok = await list(a.key, `198.51.100.${i}`)
    t.equal(ok.statusCode, 200)
    t.equal(ok.headers['x-ratelimit-limit'], '10')
  }
  const over = await list(a.key, '198.51.100.99')
  t.equal(over.statusCode, 429, 'a new address does not reset the key')
  t.match(json(over), { error: 'rate_limited', message: /10 requests a minute/ })
  t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60, 'Retry-After in seconds')
  t.equal((await list(b.key)).statusCode, 200, 'another key has its own budget')
  const created = await postMessage(app, a.key, { links: [{ url: 'https://a.dk/' }], recipients: ['x'] })
  t.equal(created.statusCode, 429, 'a limited call stores nothing')
  t.equal(json(await list(b.key)).messages.length, 0)
})

t.test('without a valid key the limit is per client address, so made-up keys do not escape it', async (t) => {
  const app = await startApp(t, { env: { API_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE: '3' } })
  const from = (address: string, key?: string) =>
    app.inject({ url: '/v1/messages', headers: key ? bearer(key) : {}, remoteAddress: address })
  t.equal((await from('192.0.2.1')).statusCode, 401)
  t.equal((await from('192.0.2.1', 'sl_madeup1')).statusCode, 401)
  t.equal((await from('192.0.2.1', 'sl_madeup2')).statusCode, 401)
  const over = await from('192.0.2.1', 'sl_madeup3')
  t.equal(over.statusCode, 429)
  t.match(json(over), {
    error: 'rate_limited',
    message: /3 requests a minute from this address without valid credentials/,
  })
  t.equal((await from('192.0.2.2')).statusCode, 401, 'another address is not affected')
  const { key } = await createTenant(app)
  for (let i = 0; i < 5; i++) {
    const valid = await app.inject({ url: '/v1/messages', headers: bearer(key), remoteAddress: '192.0.2.1' })
    t.equal(valid.statusCode, 200, `a valid key from the limited address has its own budget (#${i + 1})`)
  }
  const adminOver = await app.inject({
    method: 'GET',
    url: '/v1/tenants',
    headers: { authorization: 'Bearer wrong' },
    remoteAddress: '192.0.2.1',
  })
  t.equal(adminOver.statusCode, 429, 'admin routes share the per-address limit for bad credentials')
})

t.test('probes, metrics and docs are never limited', async (t) => {
  // The main port serves /metrics only with METRICS_TOKEN set.
  const token = 'metrics-token-0123456789'
  const app = await startApp(t, { env: { API_RATE_LIMIT_PER_MINUTE: '1', METRICS_TOKEN: token } })
  for (let i = 0; i < 5; i++) {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const response = await app.inject({ url, headers: bearer(token) })
      t.equal(response.statusCode, 200, `${url} #${i}`)
      t.notOk(response.headers['x-ratelimit-limit'], `${url}: no rate-limit headers`)
    }
  }
})

t.test('0 turns the API limit off', async (t) => {
  const app = await startApp(t, {
    env: { API_RATE_LIMIT_PER_MINUTE: '0', API_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE: '2' },
  })
  for (let i = 0; i < 30; i++) t.equal((await app.inject({ url: '/v1/tenants', headers: admin })).statusCode, 200)
  const wrong = () => app.inject({ url: '/v1/tenants', headers: bearer('wrong'), remoteAddress: '192.0.2.9' })
  t.equal((await wrong()).statusCode, 401)
  t.equal((await wrong()).statusCode, 401)
  t.equal((await wrong()).statusCode, 429, 'the limit for bad credentials is set on its own')
})

t.test('the default key budget takes a transactional flow of 1,000 messages a second in one burst', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const statuses = new Map<number, number>()
  for (let i = 0; i < 1000; i++) {
    const response = await app.inject({ url: '/v1/messages?limit=1', headers: bearer(key) })
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
  }
  t.same([...statuses], [[200, 1000]])
})

t.test('over the redirect limit an address still gets its redirect, but the tap is not counted', async (t) => {
  const metricsToken = 'metrics-token-0123456789'
  const app = await startApp(t, { env: { REDIRECT_RATE_LIMIT_PER_MINUTE: '3', METRICS_TOKEN: metricsToken } })
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a', 'b'] }),
  )
  const [first, second] = message.recipients.map((r: any) => r.links[0] as string)
  for (let i = 0; i < 5; i++) {
    const tapped = await tap(app, first, { address: '100.64.0.1' })
    t.equal(tapped.statusCode, 302, `tap ${i + 1} from the busy address redirects`)
    t.equal(tapped.headers.location, 'https://shop.dk/sale')
  }
  const other = await tap(app, second, { address: '100.64.0.2' })
  t.equal(other.statusCode, 302)
  await flushClicks(app)
  const counted = await stats(app, key, message.id)
  t.equal(counted.clicks.total, 4, '3 taps from the busy address and 1 from another')
  t.equal(counted.clicks.unique, 2)
  const metrics = (await app.inject({ url: '/metrics', headers: bearer(metricsToken) })).body
  t.match(metrics, /smslinks_redirects_not_counted_total 2/)
  t.match(metrics, /smslinks_redirects_total\{outcome="redirected"\} 6/)
})

t.test('0 turns the redirect limit off', async (t) => {
  const app = await startApp(t, { env: { REDIRECT_RATE_LIMIT_PER_MINUTE: '0' } })
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a'] }))
  for (let i = 0; i < 20; i++) await tap(app, message.recipients[0].links[0], { address: '100.64.0.1' })
  t.equal((await stats(app, key, message.id)).clicks.total, 20)
})

t.test('the limits are configured by environment variables, checked at start', async (t) => {
  const { loadConfig } = await import('../../src/config.js')
  t.equal(loadConfig({}).apiRateLimitPerMinute, 120_000)
  t.equal(loadConfig({}).apiUnauthenticatedRateLimitPerMinute, 600)
  t.equal(loadConfig({}).redirectRateLimitPerMinute, 6000)
  t.throws(() => loadConfig({ API_RATE_LIMIT_PER_MINUTE: '-1' }), {
    message: /^API_RATE_LIMIT_PER_MINUTE must be a whole number from 0/,
  })
  t.throws(() => loadConfig({ API_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE: '1.5' }), {
    message: /^API_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE must be a whole number/,
  })
  t.throws(() => loadConfig({ REDIRECT_RATE_LIMIT_PER_MINUTE: 'lots' }), {
    message: /^REDIRECT_RATE_LIMIT_PER_MINUTE must be a whole number/,
  })
})
