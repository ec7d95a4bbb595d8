import type { RouteOptions } from 'fastify'
import t from 'tap'
import { startApp } from '../helpers.js'

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

t.test('/openapi.json documents every route the service registers', async (t) => {
  const routes: RouteOptions[] = []
  const app = await startApp(t, { onRoute: (route) => routes.push(route) })
  const response = await app.inject({ url: '/openapi.json' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  const doc = JSON.parse(response.body)
  t.match(doc.openapi, /^3\.\d+\.\d+$/)
  t.ok(doc.info.title)

  // Fastify's own view: every method and path, without the HEAD twins it adds for GET
  // and the HTML pages' own routes (the docs page, the dashboard). The redirect (`/{slug}` on a tenant's host) is documented too.
  const registered = new Set<string>()
  for (const route of routes) {
    if (route.url.startsWith('/docs') || route.url.startsWith('/dashboard')) continue
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      registered.add(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`)
    }
  }
  t.ok(registered.has('DELETE /v1/tenants/{tenantId}/api-keys/{keyId}'), 'sanity: the hook saw the routes')
  t.ok(registered.has('GET /{slug}'), 'sanity: the redirect is a route')
  const documented = new Set<string>()
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of METHODS) if (item[method]) documented.add(`${method.toUpperCase()} ${path}`)
  }
  t.same([...documented].sort(), [...registered].sort())
  t.notOk(
    Object.keys(doc.paths).some((path) => path.startsWith('/docs') || path.startsWith('/dashboard')),
    "the docs page's and the dashboard's routes are hidden",
  )
})

t.test('every /v1 route has a summary, description, tags, security and examples', async (t) => {
  const app = await startApp(t)
  const doc = (await app.inject({ url: '/openapi.json' })).json()
  const schemes = Object.keys(doc.components.securitySchemes)
  t.same(schemes.sort(), ['adminToken', 'apiKey', 'metricsToken'])
  let checked = 0
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    if (!path.startsWith('/v1/')) continue
    for (const method of METHODS) {
      const operation = item[method]
      if (!operation) continue
      checked++
      const name = `${method.toUpperCase()} ${path}`
      t.ok(operation.summary, `${name}: summary`)
      t.ok(operation.description, `${name}: description`)
      t.ok(operation.tags?.length, `${name}: tags`)
      t.ok(
        operation.security?.length &&
          operation.security.every((s: object) => Object.keys(s).every((k) => schemes.includes(k))),
        `${name}: security names a declared scheme`,
      )
      const media = [
        operation.requestBody?.content?.['application/json'],
        ...Object.values<any>(operation.responses).map((r) => r.content?.['application/json']),
      ].filter(Boolean)
      const examples = media.filter((m) => m.example !== undefined || Object.keys(m.examples ?? {}).length > 0)
      t.ok(examples.length > 0, `${name}: at least one example`)
      if (operation.requestBody) {
        const body = operation.requestBody.content['application/json']
        t.ok(body.example ?? body.examples, `${name}: the request body has an example`)
      }
    }
  }
  // tenants 3, domains 2, API keys 2, allowed hosts 2, page texts 3, messages 5, deliveries 1, opt-outs 4,
  // webhooks 4, recipients (erase, engaged) 2, click export 1, roll-ups 2, A/B variants 1, conversions 1
  t.equal(checked, 33, 'all /v1 operations checked')
})

t.test('/docs serves the browsable page', async (t) => {
  const app = await startApp(t)
  let response = await app.inject({ url: '/docs' })
  if (response.statusCode === 302) response = await app.inject({ url: response.headers.location as string })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /text\/html/)
  t.match(response.body, /swagger/i)
})
