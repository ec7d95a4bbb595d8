import t from 'tap'
import { admin, createTenant, json, postMessage, startApp, tap } from '../helpers.js'

const check = (domain: string, host = 'localhost:3000') =>
  ({ url: `/tls/check?domain=${encodeURIComponent(domain)}`, headers: { host } }) as const

t.test("a tenant's domain may have a certificate; any other name may not", async (t) => {
  const app = await startApp(t)
  await createTenant(app, 's.brand.dk')
  const allowed = await app.inject(check('s.brand.dk'))
  t.equal(allowed.statusCode, 200)
  t.same(json(allowed), { domain: 's.brand.dk' })
  for (const name of ['S.Brand.DK', 's.brand.dk.']) {
    t.equal((await app.inject(check(name))).statusCode, 200, `${name}: case and a trailing dot do not matter`)
  }
  for (const name of ['brand.dk', 'x.s.brand.dk', 's.brand.dk.evil.example', 'localhost', '127.0.0.1', '*.brand.dk']) {
    const refused = await app.inject(check(name))
    t.equal(refused.statusCode, 404, name)
    t.same(json(refused), { error: 'unknown_domain', message: `${name} is not a domain of any tenant` })
  }
  const missing = await app.inject({ url: '/tls/check', headers: { host: 'localhost' } })
  t.equal(missing.statusCode, 400)
  t.equal(json(missing).error, 'invalid_request')
})

t.test('a domain is allowed the moment it is added, whatever port it was added with', async (t) => {
  const app = await startApp(t)
  const { tenantId } = await createTenant(app, 's.brand.dk')
  t.equal((await app.inject(check('s.other.dk'))).statusCode, 404)
  const added = await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenantId}/domains`,
    headers: admin,
    payload: { host: 's.other.dk:8443' },
  })
  t.equal(added.statusCode, 201)
  t.equal((await app.inject(check('s.other.dk'))).statusCode, 200, 'the name of s.other.dk:8443')
})

t.test('the redirect treats a trailing dot in Host as the certificate check does', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app, 's.brand.dk')
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['a'] }))
  const link = new URL(message.recipients[0].links[0])
  for (const host of ['s.brand.dk.', 'S.BRAND.DK.:443']) {
    const response = await app.inject({ url: link.pathname, headers: { host } })
    t.equal(response.statusCode, 302, host)
  }
  t.equal((await tap(app, `https://s.brand.dk.evil${link.pathname}`)).statusCode, 404)
})

t.test("only on the service's own hosts, never on a tenant's domain", async (t) => {
  const app = await startApp(t, { env: { API_HOSTS: '127.0.0.1' } })
  await createTenant(app, 's.brand.dk')
  t.equal((await app.inject(check('s.brand.dk', '127.0.0.1:3000'))).statusCode, 200, 'API_HOSTS')
  const onTenant = await app.inject(check('s.brand.dk', 's.brand.dk'))
  t.equal(onTenant.statusCode, 404)
  t.match(onTenant.headers['content-type'], /^text\/html/, "the tenant domain's 404 page")
  t.match(onTenant.body, /This link does not work/)
})

t.test('the proxy is never rate limited', async (t) => {
  const app = await startApp(t, { env: { API_RATE_LIMIT_PER_MINUTE: '2' } })
  await createTenant(app, 's.brand.dk')
  for (let i = 0; i < 10; i++) {
    const response = await app.inject(check(i % 2 === 0 ? 's.brand.dk' : `n${i}.example`))
    t.equal(response.statusCode, i % 2 === 0 ? 200 : 404, `ask ${i + 1}`)
    t.notOk(response.headers['x-ratelimit-limit'], 'no rate-limit headers')
  }
})
