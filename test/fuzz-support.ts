import { createHash } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse, RouteOptions } from 'fastify'
import fc from 'fast-check'
import type { Test } from 'tap'
import type { SqliteStore } from '../src/db/sqlite-store.js'
import { admin, bearer, createTenant, flushClicks, json, postMessage, startApp } from './helpers.js'

/**
 * Shared by the fuzz tests: a service with two tenants and some data, every route it
 * registers, generators for hostile requests, and the checks every answer must pass.
 * Seeded (FUZZ_SEED overrides) so a failure can be replayed; fast-check prints the
 * seed and path of a failing case, and the tests print the seed they ran with.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261123)

export interface FuzzWorld {
  app: FastifyInstance
  routes: Array<{ method: string; url: string; bodyExamples: unknown[] }>
  a: {
    tenantId: string
    key: string
    host: string
    messageId: string
    shortLink: string
    unsubscribePath: string
    webhookId: string
  }
  b: { tenantId: string; key: string; host: string; messageId: string }
  cases: number
}

/** A service with tenants A and B, a message each, a webhook, and every route it registered. */
export async function fuzzWorld(t: Test): Promise<FuzzWorld> {
  const registered: RouteOptions[] = []
  const app = await startApp(t, {
    onRoute: (route) => registered.push(route),
    // The fuzz sends thousands of calls from one address with one key; the limits have their own tests.
    // No webhook deliveries during the run: they would write to the database between snapshots.
    env: { API_RATE_LIMIT_PER_MINUTE: '0', REDIRECT_RATE_LIMIT_PER_MINUTE: '0', WEBHOOK_POLL_INTERVAL_MS: '60000' },
  })
  const a = await createTenant(app, 's.a-shop.dk', 'A')
  const b = await createTenant(app, 's.b-shop.dk', 'B')
  const messageA = json(
    await postMessage(app, a.key, {
      links: [{ url: 'https://a-shop.dk/sale' }],
      recipients: ['r1', 'r2'],
      unsubscribe: true,
    }),
  )
  const messageB = json(await postMessage(app, b.key, { text: 'Sale at https://b-shop.dk/x', recipients: ['r1'] }))
  const webhook = json(
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(a.key),
      payload: { url: 'https://hooks.a-shop.dk/in', events: ['unsubscribe'] },
    }),
  )
  const routes = registered.flatMap((route) =>
    [route.method].flat().map((method) => ({
      method,
      url: route.url,
      bodyExamples: ((route.schema?.body as { examples?: unknown[] } | undefined)?.examples ?? []) as unknown[],
    })),
  )
  return {
    app,
    routes,
    a: {
      ...a,
      messageId: messageA.id,
      shortLink: messageA.recipients[0].links[0],
      unsubscribePath: new URL(messageA.recipients[0].unsubscribeUrl).pathname,
      webhookId: webhook.id,
    },
    b: { ...b, messageId: messageB.id },
    cases: 0,
  }
}

/**
 * A hash of everything stored, taken after queued clicks and page visits are written.
 * Leaves out the readiness probe's row, which GET /readyz rewrites by design.
 */
export async function storedState(app: FastifyInstance): Promise<string> {
  await flushClicks(app)
  await app.services.unsubscribeVisits.flush()
  const db = (app.services.store as SqliteStore).db
  const hash = createHash('sha256')
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all() as string[]
  for (const table of tables) {
    const rows = db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>
    const lines = rows
      .filter((row) => !(table === 'settings' && row.key === 'readiness_probe'))
      .map((row) =>
        JSON.stringify(row, (_k, v) =>
          Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v,
        ),
      )
      .sort()
    hash.update(`${table}\n${lines.join('\n')}\n`)
  }
  return hash.digest('hex')
}

/** Fills `:param` and `*` in a route's URL. */
export function pathFor(url: string, values: string[]): string {
  let i = 0
  return url.replace(/:\w+|\*/g, () => values[i++ % Math.max(values.length, 1)] ?? '')
}

// ---------- generators ----------

/** Strings people and attackers send: empty, unicode-heavy, control characters, huge, look-alikes of real values. */
export const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '\uFEFF',
      '\u202Eevil',
      '🛍️'.repeat(500),
      'Ł—€^{}[]~|\\',
      '../../etc/passwd',
      '%00',
      '%zz',
      "'; DROP TABLE messages; --",
      '<script>alert(1)</script>',
      'javascript:alert(1)',
      'data:text/html,<b>x</b>',
      'https://user:pass@a-shop.dk/',
      'https://a-shop.dk/' + 'a'.repeat(3000),
      'https://xn--/x',
      'https://смартфон.рф/акция',
      '__proto__',
      'constructor',
      'a'.repeat(70_000),
      'é'.repeat(20_000),
      '9'.repeat(400),
      '1e309',
      '-0',
      'null',
      'true',
    ),
  },
)

/** Any JSON value, with the nasty strings inside. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, false, 0, -1, 2 ** 53, Number.MAX_VALUE, 1e-300),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', 'recipients', 'links', 'url')),
      tie('value'),
      {
        maxKeys: 4,
      },
    ),
  ),
})).value

/** Raw bodies that are not JSON, or not quite. */
export const malformedBody = fc.oneof(
  fc.constantFrom(
    '{',
    '{"recipients": [',
    '{"a":1}}',
    '[1,2,',
    "{'single': 'quotes'}",
    '{"a": NaN}',
    '{"a": undefined}',
    '\uFEFF{"name":"x"}',
    '{"name":"\\ud800"}',
    '{"__proto__": {"admin": true}}',
    '{"constructor": {"prototype": {"x": 1}}}',
    '[]'.repeat(10_000),
    '['.repeat(5000) + ']'.repeat(5000),
    '{"a":' + '1'.repeat(1000) + '}',
    'null',
    '"just a string"',
    '0',
    '',
    ' ',
  ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  nastyJson
    .map((value) => JSON.stringify(value) ?? 'undefined')
    .map((text) => text.slice(0, Math.max(1, text.length - 1))),
)

export const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/x-ndjson',
  'application/xml',
  'application/jsonx',
  '*/*',
  ';;;',
  undefined,
)

/** A Host header: the tenants' hosts, unknown ones, odd but sendable ones. */
export function hostHeader(world: FuzzWorld) {
  return fc.oneof(
    fc.constantFrom(
      world.a.host,
      world.b.host,
      `${world.a.host}:443`,
      world.a.host.toUpperCase(),
      'localhost',
      'localhost:3000',
    ),
    fc.constantFrom(
      '',
      ' ',
      '[::1]',
      '[::1]:80',
      'xn--smrrebrd-64af.dk',
      'a..b',
      '.',
      ':',
      ':99999',
      'a'.repeat(2000),
      '%41.dk',
      'evil.dk@s.a-shop.dk',
    ),
    fc.stringMatching(/^[a-zA-Z0-9.\-:[\]_~]{0,60}$/),
  )
}

/** Credentials: none, each tenant's key, the admin token, and broken ones. */
export function authorization(world: FuzzWorld) {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      bearer(world.a.key).authorization,
      bearer(world.b.key).authorization,
      admin.authorization,
      'Bearer',
      'Bearer ',
      'bearer sl_' + 'x'.repeat(40),
      'Basic dXNlcjpwYXNz',
      `Bearer ${world.a.key}x`,
      `Bearer ${'A'.repeat(10_000)}`,
    ),
    fc.stringMatching(/^[ -~]{0,80}$/).map((token) => `Bearer ${token}`),
  )
}

/** A path segment: real ids of both tenants, random text percent-encoded, or raw oddities. */
export function segment(world: FuzzWorld) {
  return fc.oneof(
    fc.constantFrom(
      world.a.tenantId,
      world.b.tenantId,
      world.a.messageId,
      world.b.messageId,
      world.a.webhookId,
      'key_nope',
    ),
    nastyString.map((text) => encodeURIComponent(text).slice(0, 5000)),
    fc.constantFrom(
      '',
      '%',
      '%zz',
      '%00',
      '..',
      '.',
      '%2e%2e',
      '%2F',
      '%C0%AF',
      '%ED%A0%80',
      'a'.repeat(5000),
      '~',
      ';x=1',
      "'",
      '"',
    ),
  )
}

/** A query string: none, the routes' own names with bad values, junk, repeats, huge. */
export const queryString = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom('limit', 'cursor', 'since', 'utm_source', '__proto__', 'limit[]'), nastyString),
        nastyString,
      ),
      { maxLength: 4 },
    )
    .map((pairs) => '?' + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.constantFrom(
    '?',
    '?&&&',
    '?limit=0',
    '?limit=-1',
    '?limit=1e3',
    '?limit=1&limit=2',
    '?limit=99999999999999999999',
    '?cursor=%zz',
    '?%',
    '?a=' + 'b'.repeat(100_000),
  ),
)

// ---------- checks ----------

const HTML_STATUS = new Set([200, 404])

/**
 * What every answer must be: never a 5xx; a 4xx is JSON `{error, message}` and nothing
 * else, except the HTML pages a person lands on (404 page, unsubscribe pages), which
 * only a browser-style request (not under /v1) gets, or any request on a host that is
 * not the service's own (`ownHost` false: there the API is the 404 page).
 */
export function checkAnswer(
  t: Test,
  label: string,
  method: string,
  url: string,
  response: LightMyRequestResponse,
  ownHost = true,
): boolean {
  const fail = (why: string) => {
    t.fail(`${label}: ${why}`, {
      method,
      url: url.slice(0, 300),
      status: response.statusCode,
      body: response.body.slice(0, 500),
    })
    return false
  }
  if (response.statusCode >= 500) return fail(`a ${response.statusCode}`)
  if (response.statusCode < 400 || method === 'HEAD') return true
  const type = String(response.headers['content-type'] ?? '')
  if (type.startsWith('text/html')) {
    if (url.startsWith('/v1/') && ownHost) return fail('an HTML error under /v1')
    if (!HTML_STATUS.has(response.statusCode)) return fail(`an HTML ${response.statusCode}`)
    return true
  }
  if (!type.startsWith('application/json')) return fail(`a ${response.statusCode} as ${type}`)
  let body: unknown
  try {
    body = JSON.parse(response.body)
  } catch {
    return fail('a JSON error body that does not parse')
  }
  const keys = Object.keys(body as object)
    .sort()
    .join(',')
  const { error, message } = body as { error: unknown; message: unknown }
  if (
    keys !== 'error,message' ||
    typeof error !== 'string' ||
    typeof message !== 'string' ||
    !/^[a-z_]+$/.test(error)
  ) {
    return fail('an error body that is not {error, message}')
  }
  if (/\bat .+\(.*:\d+:\d+\)|SQLITE|sqlite|node_modules/.test(message)) return fail('internals in an error message')
  return true
}
