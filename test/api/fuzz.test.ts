import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import t, { type Test } from 'tap'
import { OwnHosts } from '../../src/routes/host-kinds.js'
import {
  authorization,
  checkAnswer,
  contentType,
  FUZZ_SEED,
  fuzzWorld,
  hostHeader,
  malformedBody,
  nastyJson,
  nastyString,
  pathFor,
  queryString,
  segment,
  storedState,
  type FuzzWorld,
} from '../fixtures/fuzz-support.js'

/**
 * Hostile requests at every route the service registers (collected with onRoute, so a
 * new route is fuzzed without touching this file), with and without valid credentials.
 * Each case: no 5xx, errors are {error, message} JSON (or a person's HTML page), and a
 * rejected call leaves the stored data exactly as it was (a hash of every table).
 */

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const

/** Sends one case, checks the answer, and that a rejection changed nothing stored. */
async function probe(
  t: Test,
  world: FuzzWorld,
  label: string,
  request: InjectOptions & { url: string; method: string },
) {
  world.cases++
  const before = await storedState(world.app)
  const response = await world.app.inject(request)
  const host = String(request.headers?.host ?? 'localhost:80')
  const ownHost = new OwnHosts(world.app.services.config).has(host)
  const ok = checkAnswer(t, label, request.method, request.url, response, ownHost)
  if (response.statusCode >= 400) {
    const after = await storedState(world.app)
    if (after !== before) {
      t.fail(`${label}: a rejected call changed stored data`, {
        method: request.method,
        url: request.url.slice(0, 300),
        status: response.statusCode,
      })
      return false
    }
  }
  return ok
}

const runs = (n: number) => ({
  seed: FUZZ_SEED,
  numRuns: Number(process.env.FUZZ_RUNS_SCALE ?? 1) * n,
  endOnFailure: true,
})

t.test('fuzz: every route, hostile requests', async (t) => {
  const world = await fuzzWorld(t)
  t.comment(`fuzz seed ${FUZZ_SEED} (FUZZ_SEED=… to replay another)`)
  const routes = world.routes.filter((route) => route.method !== 'HEAD')
  t.ok(
    routes.some((r) => r.url === '/v1/tenants/:tenantId/allowed-hosts'),
    'sanity: the routes were collected',
  )

  const anyRoute = fc.constantFrom(...routes)
  const request = fc.record({
    route: anyRoute,
    method: fc.oneof(
      { weight: 4, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    ),
    segments: fc.array(segment(world), { minLength: 1, maxLength: 3 }),
    query: queryString,
    host: hostHeader(world),
    auth: authorization(world),
    type: contentType,
    body: fc.oneof(
      fc.constant(undefined),
      malformedBody,
      nastyJson.map((value) => JSON.stringify(value) ?? ''),
    ),
  })

  await fc.assert(
    fc.asyncProperty(request, async (c) => {
      const method = c.method ?? c.route.method
      const url = pathFor(c.route.url, c.segments) + c.query
      const headers: Record<string, string> = { host: c.host }
      if (c.auth !== undefined) headers.authorization = c.auth
      if (c.type !== undefined) headers['content-type'] = c.type
      const withBody = c.body !== undefined && method !== 'GET' && method !== 'HEAD'
      return probe(t, world, 'any route', { method, url, headers, ...(withBody ? { payload: c.body } : {}) })
    }),
    runs(700),
  )

  const health = await world.app.inject({ url: '/healthz' })
  t.equal(health.statusCode, 200, 'the service still answers /healthz')
  t.comment(`fuzz cases run (every route): ${world.cases}`)
})

t.test('fuzz: valid-looking bodies with one thing wrong, with valid credentials', async (t) => {
  const world = await fuzzWorld(t)
  const withBodies = world.routes.filter((route) => route.bodyExamples.length > 0)
  t.ok(withBodies.length >= 6, `sanity: ${withBodies.length} routes document a body example`)

  /** Replaces, removes or adds one field of an example, or nests it, at any depth. */
  const mutate = (example: unknown): fc.Arbitrary<unknown> => {
    if (example === null || typeof example !== 'object') return fc.oneof(nastyJson, fc.constant(example))
    const entries = Array.isArray(example) ? example.map((v, i) => [String(i), v] as const) : Object.entries(example)
    if (entries.length === 0) return fc.oneof(nastyJson, fc.constant(example))
    return fc.integer({ min: 0, max: entries.length - 1 }).chain((i) => {
      const [key, value] = entries[i]!
      const copy = (patch: (target: Record<string, unknown>) => void) => {
        const clone = structuredClone(example) as Record<string, unknown>
        patch(clone)
        return clone
      }
      return fc.oneof(
        mutate(value).map((next) => copy((c) => void (c[key] = next))),
        nastyJson.map((next) => copy((c) => void (c[key] = next))),
        fc.constant(copy((c) => void delete c[key])),
        fc.tuple(nastyString, nastyJson).map(([k, v]) => copy((c) => void (c[k || 'extra'] = v))),
        fc.constantFrom(1000, 100_001).map((n) => copy((c) => void (c[key] = Array.from({ length: n }, () => value)))),
        fc.constant(copy((c) => void (c[key] = { nested: value }))),
      )
    })
  }

  const keyFor = (url: string) => (url.startsWith('/v1/tenants') ? 'admin' : 'a')
  const request = fc.constantFrom(...withBodies).chain((route) =>
    fc.record({
      route: fc.constant(route),
      body: fc.constantFrom(...route.bodyExamples).chain(mutate),
      segments: fc.array(
        fc.constantFrom(world.a.tenantId, world.a.messageId, world.a.webhookId, world.b.tenantId, world.b.messageId),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  )
  const { admin } = await import('../helpers.js')
  await fc.assert(
    fc.asyncProperty(request, async (c) => {
      const url = pathFor(c.route.url, c.segments)
      const headers = {
        authorization: keyFor(url) === 'admin' ? admin.authorization : `Bearer ${world.a.key}`,
        'content-type': 'application/json',
        host: world.a.host,
      }
      return probe(t, world, 'mutated example', {
        method: c.route.method,
        url,
        headers,
        payload: JSON.stringify(c.body) ?? '',
      })
    }),
    runs(500),
  )
  t.equal((await world.app.inject({ url: '/healthz' })).statusCode, 200, 'the service still answers /healthz')
  t.comment(`fuzz cases run (mutated bodies): ${world.cases}`)
})

t.test('fuzz: odd paths and hosts where recipients land', async (t) => {
  const world = await fuzzWorld(t)
  const code = new URL(world.a.shortLink).pathname.slice(1, 7)
  const path = fc.oneof(
    fc.constantFrom(
      `/${code}`,
      `/${code}-`,
      `/${code}-${'x'.repeat(5000)}`,
      `/${code}--`,
      `/${code}/extra`,
      `/${code}%00`,
      `/${code}?${'a=b&'.repeat(1000)}`,
      world.a.unsubscribePath,
      `${world.a.unsubscribePath}x`,
      '/u/',
      '/u/%zz',
      '//',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/' + '%F0%9F%9B%8D'.repeat(300),
      '/*',
      '/?',
      '/#x',
    ),
    segment(world).map((s) => `/${s}`),
    fc.tuple(fc.constantFrom('/', '/u/'), segment(world), queryString).map(([prefix, s, q]) => prefix + s + q),
  )
  const request = fc.record({
    path,
    host: hostHeader(world),
    method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST'),
    userAgent: fc.oneof(fc.constant(undefined), fc.stringMatching(/^[ -~]{0,300}$/)),
    forwarded: fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('1.2.3.4', 'garbage', '::1, 10.0.0.1', '999.999.1.1', ''),
    ),
    body: fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('confirm=unsubscribe', 'confirm=', '%%%', 'a'.repeat(5000)),
      fc.string(),
    ),
  })
  await fc.assert(
    fc.asyncProperty(request, async (c) => {
      const headers: Record<string, string> = { host: c.host }
      if (c.userAgent !== undefined) headers['user-agent'] = c.userAgent
      if (c.forwarded !== undefined) headers['x-forwarded-for'] = c.forwarded
      const post = c.method === 'POST' && c.body !== undefined
      if (post) headers['content-type'] = 'application/x-www-form-urlencoded'
      return probe(t, world, 'landing', {
        method: c.method,
        url: c.path,
        headers,
        ...(post ? { payload: c.body } : {}),
      })
    }),
    runs(500),
  )
  t.equal((await world.app.inject({ url: '/healthz' })).statusCode, 200, 'the service still answers /healthz')
  t.comment(`fuzz cases run (landing paths): ${world.cases}`)
})
