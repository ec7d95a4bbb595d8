import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { openPostgresStore } from '../../src/db/postgres/index.js'
import {
  admin,
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  tap,
  testClock,
  tempDatabasePath,
  type StartOptions,
} from '../helpers.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { eventually, FAST_WEBHOOKS, startReceiver } from '../fixtures/webhook-receiver.js'

/** The promise checked here: a change made through one instance holds on every other within a second. */
const WITHIN_MS = 1_000

type Backend = 'sqlite' | 'postgres'

/**
 * Two instances of the service on one database, as two machines behind a load balancer
 * run them on PostgreSQL, or two processes on one SQLite file: each with a connection
 * of its own.
 */
async function twoInstances(t: Test, backend: Backend, a: StartOptions = {}, b: StartOptions = {}) {
  if (backend === 'sqlite') {
    const databasePath = tempDatabasePath(t)
    return [await startApp(t, { ...a, databasePath }), await startApp(t, { ...b, databasePath })] as const
  }
  const url = await postgresDatabase(t)
  const first = await startApp(t, { ...a, store: await openPostgresStore(url) })
  const second = await startApp(t, { ...b, store: await openPostgresStore(url) })
  return [first, second] as const
}

const within = (t: Test, what: string, condition: () => Promise<boolean>) =>
  eventually(t, `${what}, within a second`, condition, WITHIN_MS)

for (const backend of ['sqlite', 'postgres'] as const) {
  t.test(backend, async (t) => {
    t.test('a domain added on one instance serves on the other', async (t) => {
      const [a, b] = await twoInstances(t, backend)
      const { key, host } = await createTenant(a, 's.one.dk')
      const payload = { domain: host, links: [{ url: 'https://shop.dk/a' }], recipients: ['alice'] }
      let created: any
      await within(t, 'the other instance takes messages on the new domain', async () => {
        const response = await postMessage(b, key, payload)
        created = json(response)
        return response.statusCode === 201
      })
      t.equal((await tap(b, created.recipients[0].links[0])).statusCode, 302, 'and redirects its links')
    })

    t.test("a tenant's page language set on one instance is what the other's not-found page speaks", async (t) => {
      const [a, b] = await twoInstances(t, backend)
      const { host, tenantId } = await createTenant(a, 's.lang.dk')
      const notFound = () => b.inject({ url: '/nO7f0und-xyz', headers: { host, 'accept-language': 'en' } })
      await within(t, 'the other instance knows the domain', async () => (await notFound()).statusCode === 404)
      t.equal((await notFound()).headers['content-language'], 'en', 'the phone decides while the tenant has none')
      const set = await a.inject({
        method: 'PATCH',
        url: `/v1/tenants/${tenantId}`,
        headers: admin,
        payload: { language: 'da' },
      })
      t.equal(set.statusCode, 200)
      await within(t, 'the other instance speaks Danish', async () => {
        const page = await notFound()
        return page.headers['content-language'] === 'da' && page.body.includes('<html lang="da">')
      })
    })

    t.test("a domain's fallback URL set on one instance is where the other sends expired links", async (t) => {
      const clock = testClock()
      const [a, b] = await twoInstances(t, backend, {}, { clock })
      const { key, host, tenantId } = await createTenant(a, 's.two.dk')
      const message = json(
        await postMessage(a, key, {
          links: [{ url: 'https://shop.dk/a' }],
          recipients: ['alice'],
          expiresAt: new Date(clock.now() + 60_000).toISOString(),
        }),
      )
      const link = message.recipients[0].links[0]
      await within(t, 'the other instance knows the domain', async () => (await tap(b, link)).statusCode === 302)
      clock.advance(120_000)
      t.equal((await tap(b, link)).statusCode, 410, 'expired, no fallback yet')
      const set = await a.inject({
        method: 'PATCH',
        url: `/v1/tenants/${tenantId}/domains/${host}`,
        headers: admin,
        payload: { fallbackUrl: 'https://shop.dk/over' },
      })
      t.equal(set.statusCode, 200)
      await within(t, 'the other instance sends expired links to the fallback', async () => {
        const response = await tap(b, link)
        return response.statusCode === 302 && response.headers.location === 'https://shop.dk/over'
      })
    })

    t.test('a key revoked on one instance is refused by the other', async (t) => {
      const [a, b] = await twoInstances(t, backend)
      const { tenantId } = await createTenant(a, 's.three.dk')
      const made = json(
        await a.inject({
          method: 'POST',
          url: `/v1/tenants/${tenantId}/api-keys`,
          headers: admin,
          payload: { name: 'p' },
        }),
      )
      t.equal((await b.inject({ url: '/v1/messages', headers: bearer(made.key) })).statusCode, 200)
      const revoked = await a.inject({
        method: 'DELETE',
        url: `/v1/tenants/${tenantId}/api-keys/${made.id}`,
        headers: admin,
      })
      t.equal(revoked.statusCode, 204)
      await within(
        t,
        'the other instance refuses the key',
        async () => (await b.inject({ url: '/v1/messages', headers: bearer(made.key) })).statusCode === 401,
      )
    })

    t.test('an allow-list set on one instance holds on the other', async (t) => {
      const [a, b] = await twoInstances(t, backend)
      const { key, tenantId } = await createTenant(a, 's.four.dk')
      const elsewhere = { links: [{ url: 'https://elsewhere.example/x' }], recipients: ['alice'] }
      // Anything goes at first, and the other instance caches that once it knows the domain.
      await within(t, 'the other instance takes messages', async () => {
        return (await postMessage(b, key, elsewhere)).statusCode === 201
      })
      const set = await a.inject({
        method: 'PUT',
        url: `/v1/tenants/${tenantId}/allowed-hosts`,
        headers: admin,
        payload: { hosts: ['shop.dk'] },
      })
      t.equal(set.statusCode, 200)
      await within(t, 'the other instance refuses a destination off the list', async () => {
        const response = await postMessage(b, key, elsewhere)
        return response.statusCode === 400 && json(response).error === 'destination_not_allowed'
      })
      t.equal((await postMessage(b, key, { links: [{ url: 'https://shop.dk/x' }], recipients: ['a'] })).statusCode, 201)
    })

    t.test("a recipient erased on one instance: the other's queued taps of it are written scrubbed", async (t) => {
      // startApp's flush interval is the longest there is (a second): the erasure below
      // comes while the second instance still holds the taps.
      const [a, b] = await twoInstances(t, backend)
      const { key } = await createTenant(a, 's.five.dk')
      const message = json(
        await postMessage(a, key, { links: [{ url: 'https://shop.dk/a' }], recipients: ['erase-me', 'keep-me'] }),
      )
      await within(t, 'the other instance redirects', async () => {
        return (await tap(b, message.recipients[0].links[0])).statusCode === 302
      })
      await tap(b, message.recipients[1].links[0])
      const erased = await a.inject({ method: 'DELETE', url: '/v1/recipients/erase-me', headers: bearer(key) })
      t.equal(erased.statusCode, 204)
      const clicks = async () =>
        json(await a.inject({ url: `/v1/messages/${message.id}/clicks`, headers: bearer(key) })).clicks as Array<{
          recipient: string
          device: string | null
        }>
      // Written, then scrubbed: the erased recipient's tap ends up without its user agent.
      await within(t, "the other instance's taps are written, the erased recipient's scrubbed", async () => {
        const written = await clicks()
        return written.length === 2 && written.filter((click) => click.device === null).length === 1
      })
      const written = new Map((await clicks()).map((click) => [click.recipient, click.device]))
      t.equal(written.get('keep-me'), 'mobile', 'the other recipient keeps its user agent')
      t.notOk(written.has('erase-me'), 'the erased id is gone')
    })

    t.test('two instances deliver each webhook event exactly once', async (t) => {
      const receiver = await startReceiver(t, () => 204)
      const [a, b] = await twoInstances(t, backend, { env: FAST_WEBHOOKS }, { env: FAST_WEBHOOKS })
      const { key } = await createTenant(a, 's.six.dk')
      const hook = await a.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(key),
        payload: { url: receiver.url, events: ['click'] },
      })
      t.equal(hook.statusCode, 201)
      const recipients = Array.from({ length: 40 }, (_, i) => `r${i}`)
      const payload = { links: [{ url: 'https://shop.dk/a' }], recipients }
      let message: any
      await within(t, 'the other instance takes messages', async () => {
        const response = await postMessage(b, key, payload)
        message = json(response)
        return response.statusCode === 201
      })
      const instances: FastifyInstance[] = [a, b]
      for (const [i, recipient] of message.recipients.entries()) await tap(instances[i % 2]!, recipient.links[0])
      await Promise.all(instances.map(flushClicks))
      await eventually(t, 'every event delivered', () => new Set(receiver.received.map(eventId)).size === 40)
      // Time for a second post of any event, had both instances taken it.
      await new Promise((resolve) => setTimeout(resolve, 500))
      t.equal(receiver.received.length, 40, 'each event posted once, by one instance')
    })
  })
}

function eventId(received: { headers: Record<string, unknown> }): string {
  return String(received.headers['smslinks-event-id'])
}
