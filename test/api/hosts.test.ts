import type { FastifyInstance, RouteOptions } from 'fastify'
import t, { type Test } from 'tap'
import {
  admin,
  bearer,
  captureLogs,
  createTenant,
  json,
  postMessage,
  startApp,
  tap,
  withEachBackend,
} from '../helpers.js'

const METRICS_TOKEN = 'metrics-token-0123456789'
const TENANT = 's.shop.dk'
const UNKNOWN = 'nobody.example'

/**
 * Every route that answers beyond the service's own hosts, with its kind. Every other
 * route must be `api` and sit under one of API_PATHS: a new route that is in neither
 * fails here until this table says where it answers.
 */
const OPEN_ROUTES: Record<string, 'links' | 'any'> = {
  'GET /:slug': 'links',
  'HEAD /:slug': 'links',
  'GET /u/:slug': 'links',
  'HEAD /u/:slug': 'links',
  'POST /u/:slug': 'links',
  'GET /robots.txt': 'links',
  'HEAD /robots.txt': 'links',
  'GET /healthz': 'any',
  'HEAD /healthz': 'any',
}
const API_PATHS = [
  /^\/v1\//,
  /^\/dashboard(\/|$)/,
  /^\/docs(\/|$)/,
  /^\/openapi\.json$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/tls\/check$/,
]

interface Route {
  method: string
  url: string
  hosts: string
}

/** The service with METRICS_TOKEN (so /metrics is on the main port too), its routes, one tenant and a message. */
async function world(t: Test, env: Record<string, string> = {}) {
  const routes: Route[] = []
  const app = await startApp(t, {
    env: { METRICS_TOKEN, ...env },
    onRoute: (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        routes.push({ method, url: route.url, hosts: route.config?.hosts ?? 'api' })
      }
    },
  })
  const { key } = await createTenant(app, TENANT)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['a'], unsubscribe: true }),
  )
  const link = new URL(message.recipients[0].links[0])
  const unsubscribe = new URL(message.recipients[0].unsubscribeUrl)
  return { app, routes, key, link, unsubscribe }
}

/** A concrete path for a route: parameters filled with plausible values, the docs' static files with a real one. */
const pathOf = (url: string) => url.replace(/\*$/, 'swagger-ui.css').replace(/:(\w+)/g, 'x_$1')

/** The page a person gets for a link that does not exist, as the redirect sends it. */
async function notFoundPage(app: FastifyInstance): Promise<string> {
  const response = await app.inject({ url: '/zzzzzz', headers: { host: TENANT } })
  return response.body
}

withEachBackend(t, (t) => {
  t.test('every route declares where it answers; only the short-link face is open to every host', async (t) => {
    const { routes } = await world(t)
    t.ok(
      routes.some((r) => r.url === '/v1/messages') && routes.some((r) => r.url === '/metrics'),
      'sanity: the hook saw the routes',
    )
    const seen = new Set<string>()
    for (const route of routes) {
      const name = `${route.method} ${route.url}`
      seen.add(name)
      const open = OPEN_ROUTES[name]
      if (open !== undefined) {
        t.equal(route.hosts, open, `${name}: ${open}`)
        continue
      }
      t.equal(route.hosts, 'api', `${name}: the service's own hosts only`)
      t.ok(
        API_PATHS.some((path) => path.test(route.url)),
        `${name}: a route this table does not know; say here which hosts answer it`,
      )
    }
    for (const name of Object.keys(OPEN_ROUTES)) t.ok(seen.has(name), `${name} is registered`)
  })

  t.test("on a tenant's domain and on an unknown host, every API route is the 404 page", async (t) => {
    const { app, routes } = await world(t)
    const page = await notFoundPage(app)
    t.match(page, /This link does not work/)
    let checked = 0
    for (const route of routes.filter((r) => r.hosts === 'api')) {
      for (const host of [TENANT, `${TENANT}:443`, UNKNOWN, 'S.SHOP.DK']) {
        // With every credential there is: the answer must not depend on them.
        const headers = { host, authorization: `Bearer ${METRICS_TOKEN}` }
        const name = `${route.method} ${route.url} on ${JSON.stringify(host)}`
        const response = await app.inject({ method: route.method as 'GET', url: pathOf(route.url), headers })
        t.equal(response.statusCode, 404, name)
        t.match(response.headers['content-type'], /^text\/html/, name)
        t.equal(response.headers['x-robots-tag'], 'noindex, nofollow', name)
        t.notOk(response.headers['x-ratelimit-limit'], `${name}: no rate-limit headers`)
        if (route.method !== 'HEAD') t.equal(response.body, page, `${name}: the plain 404 page`)
        checked++
      }
    }
    t.ok(checked > 100, `${checked} requests`)

    // The same with admin credentials, and for paths no route has.
    for (const [method, url] of [
      ['GET', '/v1/tenants'],
      ['POST', '/v1/tenants'],
      ['POST', '/v1/nothing'],
      ['DELETE', '/docs'],
      ['POST', '/%zz'],
      ['GET', '/v1/%zz'],
    ] as const) {
      const response = await app.inject({ method, url, headers: { ...admin, host: TENANT }, payload: {} })
      t.equal(response.statusCode, 404, `${method} ${url}`)
      t.equal(response.body, page, `${method} ${url}: the plain 404 page`)
    }
    t.notMatch(page, /fastify|swagger|0\.1\.0|smslinks|"error"/i, 'the page names no framework, product or version')
  })

  t.test("on the service's own host the API answers, whatever the case and port", async (t) => {
    const { app, routes } = await world(t)
    const page = await notFoundPage(app)
    for (const route of routes.filter((r) => r.hosts === 'api' && r.method !== 'HEAD')) {
      for (const host of ['localhost', 'localhost:3000', 'LocalHost:80']) {
        const name = `${route.method} ${route.url} on ${host}`
        const response = await app.inject({ method: route.method as 'GET', url: pathOf(route.url), headers: { host } })
        t.not(response.body, page, `${name}: answered by its route (${response.statusCode})`)
      }
    }
    const tenants = await app.inject({ url: '/v1/tenants', headers: { ...admin, host: 'localhost:3000' } })
    t.equal(tenants.statusCode, 200)
    t.match(json(tenants), { tenants: [{ name: 'Shop' }] })
    t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
    t.equal((await app.inject({ url: '/openapi.json' })).statusCode, 200)
    t.equal((await app.inject({ url: '/metrics', headers: bearer(METRICS_TOKEN) })).statusCode, 200)
  })

  t.test("on a tenant's domain the short links, unsubscribe pages, robots.txt and /healthz answer", async (t) => {
    const { app, link, unsubscribe } = await world(t)
    const on = { host: TENANT }
    const redirect = await app.inject({ url: link.pathname, headers: on })
    t.equal(redirect.statusCode, 302)
    t.equal(redirect.headers.location, 'https://shop.dk/')
    t.equal((await app.inject({ method: 'HEAD', url: link.pathname, headers: on })).statusCode, 302)
    const page = await app.inject({ url: unsubscribe.pathname, headers: on })
    t.equal(page.statusCode, 200)
    t.match(page.body, /Unsubscribe/)
    const confirmed = await app.inject({
      method: 'POST',
      url: unsubscribe.pathname,
      headers: { ...on, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'confirm=unsubscribe',
    })
    t.equal(confirmed.statusCode, 200)
    t.match(confirmed.body, /You are unsubscribed/)
    t.equal((await app.inject({ url: '/robots.txt', headers: on })).statusCode, 200)
    t.same(json(await app.inject({ url: '/healthz', headers: on })), { status: 'ok' })
  })

  t.test('a route registered without a marker answers on the own hosts only', async (t) => {
    const app = await startApp(t)
    // Added like any route a later plugin registers: before the app is ready.
    app.get('/later', async () => ({ later: true }))
    app.get('/later-link', { config: { hosts: 'links' } }, async () => ({ later: true }))
    t.throws(
      () => app.get('/bad', { config: { hosts: 'everywhere' as 'any' } }, async () => ({})),
      /config\.hosts must be one of api, links, any/,
    )
    await createTenant(app, TENANT)
    t.same(json(await app.inject({ url: '/later' })), { later: true }, 'own host')
    const tenant = await app.inject({ url: '/later', headers: { host: TENANT } })
    t.equal(tenant.statusCode, 404, "not on a tenant's domain")
    t.match(tenant.body, /This link does not work/)
    t.equal((await app.inject({ url: '/later', headers: { host: UNKNOWN } })).statusCode, 404, 'nor elsewhere')
    t.equal((await app.inject({ url: '/later-link', headers: { host: TENANT } })).statusCode, 200, 'marked: answers')
  })

  t.test('API_HOSTS adds own hosts; every other host gets the 404 page for the API', async (t) => {
    const app = await startApp(t, { env: { API_HOSTS: 'api.smslinks.example, 10.0.0.5' } })
    await createTenant(app, TENANT)
    const tenants = (host: string) => app.inject({ url: '/v1/tenants', headers: { ...admin, host } })
    for (const host of [
      'api.smslinks.example',
      'API.SmsLinks.Example:8443',
      '10.0.0.5',
      '10.0.0.5:3000',
      'localhost',
    ]) {
      t.equal((await tenants(host)).statusCode, 200, host)
    }
    for (const host of [TENANT, 'smslinks.example', 'api.smslinks.example.evil.dk', 'evil.dk', '10.0.0.6']) {
      const response = await tenants(host)
      t.equal(response.statusCode, 404, JSON.stringify(host))
      t.match(response.headers['content-type'], /^text\/html/, JSON.stringify(host))
    }
  })

  t.test('behind a trusted proxy the own host may come as X-Forwarded-Host', async (t) => {
    const forwarded = (app: FastifyInstance, host: string) =>
      app.inject({ url: '/v1/tenants', headers: { ...admin, host: 'smslinks:3000', 'x-forwarded-host': host } })
    const trusting = await startApp(t, { env: { API_HOSTS: 'api.smslinks.example', TRUST_PROXY: 'true' } })
    t.equal((await forwarded(trusting, 'api.smslinks.example')).statusCode, 200)
    t.equal((await forwarded(trusting, TENANT)).statusCode, 404)
    const untrusting = await startApp(t, { env: { API_HOSTS: 'api.smslinks.example' } })
    t.equal(
      (await forwarded(untrusting, 'api.smslinks.example')).statusCode,
      404,
      'an untrusted header counts for nothing',
    )
  })

  t.test("the quick start's default domain is the own host too: it answers both", async (t) => {
    const log = captureLogs()
    const app = await startApp(t, { env: { ADMIN_TOKEN: '', PUBLIC_URL: 'http://localhost:3000' }, logger: log.logger })
    const { apiKey } = log.lines.find((line) => line.apiKey)
    const headers = { ...bearer(apiKey), host: 'localhost:3000' }
    const created = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers,
      payload: { links: [{ url: 'https://example.com/' }], recipients: ['me'] },
    })
    t.equal(created.statusCode, 201)
    const redirect = await tap(app, json(created).recipients[0].links[0])
    t.equal(redirect.statusCode, 302)
    t.equal((await app.inject({ url: '/openapi.json', headers: { host: 'localhost:3000' } })).statusCode, 200)
  })

  t.test('an unknown host: short links count unknown_host, the API does not answer', async (t) => {
    const { app, link } = await world(t)
    const response = await app.inject({ url: link.pathname, headers: { host: UNKNOWN } })
    t.equal(response.statusCode, 404)
    const metrics = (await app.inject({ url: '/metrics', headers: bearer(METRICS_TOKEN) })).body
    t.match(metrics, /smslinks_redirects_total\{outcome="unknown_host"\} 1/)
    t.equal((await app.inject({ url: '/v1/tenants', headers: { ...admin, host: UNKNOWN } })).statusCode, 404)
  })
})
