/**
 * A first session with the API through a client generated from /openapi.json
 * (openapi-typescript types, openapi-fetch calls), as an SMS platform would write it.
 * test/api/client.test.ts generates ./schema.d.ts next to a copy of this file, type-checks
 * it with `tsc --strict` and runs it against a listening service; it prints what it saw
 * as one JSON line.
 *
 * Env: SMSLINKS_URL (the service), SMSLINKS_ADMIN_TOKEN.
 */
import createClient from 'openapi-fetch'
import type { paths } from './schema.js'

const PHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

const baseUrl = process.env.SMSLINKS_URL
const adminToken = process.env.SMSLINKS_ADMIN_TOKEN
if (!baseUrl || !adminToken) throw new Error('set SMSLINKS_URL and SMSLINKS_ADMIN_TOKEN')

/** The answer's body, or a thrown error with the service's {error, message}. */
function must<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`)
  }
  return result.data
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// The operator: a tenant, the service's own host as its domain (plain http), an API key.
const admin = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${adminToken}` } })
const tenant = must(await admin.POST('/v1/tenants', { body: { name: 'Brand A/S' } }), 'create a tenant')
const domain = must(
  await admin.POST('/v1/tenants/{tenantId}/domains', {
    params: { path: { tenantId: tenant.id } },
    body: { host: new URL(baseUrl).host, scheme: 'http' },
  }),
  'add a domain',
)
const { key } = must(
  await admin.POST('/v1/tenants/{tenantId}/api-keys', {
    params: { path: { tenantId: tenant.id } },
    body: { name: 'first session' },
  }),
  'create an API key',
)

// The SMS platform: a message from a text, one short link per recipient.
const api = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${key}` } })
const message = must(
  await api.POST('/v1/messages', {
    body: {
      externalId: 'spring-sale',
      text: 'Spring sale, 30% off: https://shop.example.dk/sale',
      recipients: ['cust-1001', 'cust-1002', 'cust-1003'],
      unsubscribe: true,
    },
  }),
  'create a message',
)
const [first, ...others] = message.recipients
const firstLink = first?.links[0]
if (first === undefined || firstLink === undefined) throw new Error('no short link for the first recipient')

// A recipient taps: a phone's GET, the redirect not followed.
const link = new URL(firstLink)
const recipientHost = createClient<paths>({ baseUrl: link.origin })
const tapped = await recipientHost.GET('/{slug}', {
  params: { path: { slug: link.pathname.slice(1) } },
  headers: { 'user-agent': PHONE },
  redirect: 'manual',
})

// The two others press the button on their unsubscribe pages.
const unsubscribed: boolean[] = []
for (const recipient of others) {
  if (recipient.unsubscribeUrl === undefined) throw new Error(`no unsubscribe link for ${recipient.id}`)
  const page = new URL(recipient.unsubscribeUrl)
  const confirmed = await recipientHost.POST('/u/{slug}', {
    params: { path: { slug: page.pathname.replace(/^\/u\//, '') } },
    body: { confirm: 'unsubscribe' },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': PHONE },
    parseAs: 'text',
  })
  unsubscribed.push(confirmed.response.status === 200 && (confirmed.data ?? '').includes('You are unsubscribed'))
}

// The ops team reads the stats once the click is written (within CLICK_FLUSH_INTERVAL_MS).
let stats = must(await api.GET('/v1/messages/{id}/stats', { params: { path: { id: message.id } } }), 'read stats')
for (let tries = 0; stats.clicks.unique === 0 && tries < 100; tries++) {
  await sleep(50)
  stats = must(await api.GET('/v1/messages/{id}/stats', { params: { path: { id: message.id } } }), 'read stats')
}

// The platform keeps its suppression list in sync, one opt-out a page.
const optOuts: string[] = []
const pages: { count: number; hasMore: boolean }[] = []
let since: string | undefined
for (let hasMore = true; hasMore && pages.length < 10;) {
  const page = must(await api.GET('/v1/optouts', { params: { query: { limit: 1, since } } }), 'page opt-outs')
  optOuts.push(...page.optOuts.map((optOut) => optOut.recipient))
  pages.push({ count: page.optOuts.length, hasMore: page.hasMore })
  since = page.nextCursor
  hasMore = page.hasMore
}

console.log(
  JSON.stringify({
    domain: domain.host,
    message: { id: message.id, recipients: message.recipientCount, links: message.links.length },
    tap: { status: tapped.response.status, location: tapped.response.headers.get('location') },
    unsubscribed,
    stats: {
      total: stats.clicks.total,
      unique: stats.clicks.unique,
      ctr: stats.ctr,
      confirmed: stats.unsubscribes.confirmed,
      firstLinkUnique: stats.links[0]?.clicks.unique,
    },
    optOuts,
    pages,
  }),
)
