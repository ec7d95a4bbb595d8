import type { FastifyInstance } from 'fastify'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { Webhook } from 'standardwebhooks'
import type { ResolveHost } from '../../src/webhooks/receiver-address.js'
import {
  bearer,
  createTenant,
  eventually,
  FAST_WEBHOOKS,
  flushClicks,
  json,
  postMessage,
  signatureIsValid,
  startApp,
  startReceiver,
  tap,
} from '../helpers.js'

interface Attempt {
  outcome: string
  statusCode: number | null
  error: string | null
}

/** A local HTTP server answering each request with `handle`; it records every request. */
async function startHttpServer(t: Test, handle: (request: IncomingMessage, response: ServerResponse) => void) {
  const requests: IncomingMessage[] = []
  const server = createServer((request, response) => {
    requests.push(request)
    handle(request, response)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as { port: number }).port, requests, server }
}

/** A tenant with a click webhook to `url` and one click event waiting for it. */
async function oneEvent(app: FastifyInstance, url: string, host?: string) {
  const { key } = await createTenant(app, host)
  const created = await app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: bearer(key),
    payload: { url, events: ['click'] },
  })
  if (created.statusCode !== 201) throw new Error(`webhook not registered: ${created.body}`)
  const webhook = json(created)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  await tap(app, message.recipients[0].links[0])
  await flushClicks(app)
  return { key, webhook, message }
}

async function attempts(app: FastifyInstance, key: string, webhookId: string): Promise<Attempt[]> {
  return json(await app.inject({ url: `/v1/webhooks/${webhookId}/deliveries`, headers: bearer(key) })).deliveries
}

t.test('a name that resolves to a public address at registration and to loopback later gets nothing', async (t) => {
  const receiver = await startReceiver(t, () => 200)
  const port = new URL(receiver.url).port
  let address = '93.184.215.14'
  const resolveHost: ResolveHost = async () => [{ address, family: 4 }]
  const app = await startApp(t, { env: { ...FAST_WEBHOOKS, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }, resolveHost })
  // The DNS answer changes once the webhook is registered (DNS rebinding).
  const { key } = await createTenant(app)
  const webhook = json(
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(key),
      payload: { url: `http://hooks.rebind.test:${port}/hooks`, events: ['click'] },
    }),
  )
  t.match(webhook, { id: /^whk_/ }, 'registered while it resolved to a public address')
  address = '127.0.0.1'
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  await tap(app, message.recipients[0].links[0])
  await flushClicks(app)
  let log: Attempt[] = []
  await eventually(t, 'an attempt', async () => (log = await attempts(app, key, webhook.id)).length >= 1)
  t.match(log[0], {
    outcome: 'retrying',
    statusCode: null,
    error: /^refused: hooks\.rebind\.test resolves to 127\.0\.0\.1, a loopback address/,
  })
  t.equal(receiver.received.length, 0, 'the loopback receiver got nothing')
})

t.test('the connection goes to the address that was checked; Host stays the name', async (t) => {
  const receiver = await startReceiver(t, () => 204)
  const port = new URL(receiver.url).port
  const names: string[] = []
  // Only this resolver knows the name: a connection that asked the system's DNS would fail.
  const resolveHost: ResolveHost = async (hostname) => {
    names.push(hostname)
    return [{ address: '127.0.0.1', family: 4 }]
  }
  const app = await startApp(t, { env: FAST_WEBHOOKS, resolveHost })
  await oneEvent(app, `http://hooks.pinned.test:${port}/hooks`)
  await eventually(t, 'delivered', () => receiver.received.length === 1)
  t.equal(receiver.received[0]!.headers.host, `hooks.pinned.test:${port}`)
  t.ok(
    names.length >= 2 && names.every((name) => name === 'hooks.pinned.test'),
    'resolved at registration and delivery',
  )
})

t.test('a redirect to an internal address is not followed and counts as a failed attempt', async (t) => {
  const internal = await startHttpServer(t, (_request, response) => response.writeHead(200).end('secret'))
  const receiver = await startHttpServer(t, (_request, response) =>
    response.writeHead(302, { location: `http://127.0.0.1:${internal.port}/latest/meta-data/` }).end(),
  )
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const { key, webhook } = await oneEvent(app, `http://127.0.0.1:${receiver.port}/hooks`)
  let log: Attempt[] = []
  await eventually(t, 'two attempts', async () => (log = await attempts(app, key, webhook.id)).length >= 2)
  t.match(log[0], { outcome: 'retrying', statusCode: 302, error: 'answered HTTP 302' })
  t.ok(receiver.requests.length >= 2)
  t.equal(internal.requests.length, 0, 'the redirect target was never asked')
})

t.test('a receiver that never answers times out; one that never connects too', async (t) => {
  const silent = await startHttpServer(t, () => {})
  const app = await startApp(t, { env: { ...FAST_WEBHOOKS, WEBHOOK_TIMEOUT_MS: '300' } })
  const { key, webhook } = await oneEvent(app, `http://127.0.0.1:${silent.port}/hooks`)
  let log: Attempt[] = []
  await eventually(t, 'an attempt', async () => (log = await attempts(app, key, webhook.id)).length >= 1)
  t.match(log[0], { outcome: 'retrying', statusCode: null, error: 'no answer within 300 ms' })

  // A host whose name never resolves: the connect timeout ends the attempt.
  const stuck = await startApp(t, {
    env: { ...FAST_WEBHOOKS, WEBHOOK_CONNECT_TIMEOUT_MS: '200' },
    resolveHost: () => new Promise(() => {}),
  })
  const second = await oneEvent(stuck, 'https://hooks.stuck.test/hooks')
  await eventually(
    t,
    'an attempt',
    async () => (log = await attempts(stuck, second.key, second.webhook.id)).length >= 1,
  )
  t.match(log[0], { outcome: 'retrying', statusCode: null, error: 'no answer resolving the host within 200 ms' })
})

t.test('an endless answer is read up to WEBHOOK_RESPONSE_MAX_BYTES; its status decides', async (t) => {
  let closed = false
  const endless = await startHttpServer(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' })
    const chunk = Buffer.alloc(16_384, 'x')
    const pump = () => {
      while (!closed && response.write(chunk));
      if (!closed) response.once('drain', pump)
    }
    response.on('close', () => (closed = true))
    pump()
  })
  const app = await startApp(t, { env: { ...FAST_WEBHOOKS, WEBHOOK_RESPONSE_MAX_BYTES: '1024' } })
  const { key, webhook } = await oneEvent(app, `http://127.0.0.1:${endless.port}/hooks`)
  let log: Attempt[] = []
  await eventually(t, 'an attempt', async () => (log = await attempts(app, key, webhook.id)).length >= 1)
  t.match(log, [{ outcome: 'delivered', statusCode: 200, error: null }])
  await eventually(t, 'the connection closed by the service', () => closed)
})

t.test("one tenant's slow receiver holds back only that tenant's deliveries", async (t) => {
  const slow = await startHttpServer(t, () => {})
  const fast = await startReceiver(t, () => 200)
  const app = await startApp(t, {
    env: { ...FAST_WEBHOOKS, WEBHOOK_CONCURRENCY_PER_TENANT: '2', WEBHOOK_TIMEOUT_MS: '60000' },
  })
  const clicksFor = async (url: string, host: string, recipients: string[]) => {
    const { key } = await createTenant(app, host)
    await app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(key), payload: { url, events: ['click'] } })
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients }))
    for (const recipient of message.recipients) await tap(app, recipient.links[0])
  }
  await clicksFor(`http://127.0.0.1:${slow.port}/hooks`, 's.slow.dk', ['a', 'b', 'c', 'd', 'e'])
  await clicksFor(fast.url, 's.fast.dk', ['a', 'b', 'c'])
  await flushClicks(app)
  await eventually(t, "the other tenant's three events delivered", () => fast.received.length === 3)
  await eventually(t, 'the slow receiver holds two', () => slow.requests.length === 2)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(slow.requests.length, 2, 'never more than WEBHOOK_CONCURRENCY_PER_TENANT at once')
})

t.test('deliveries verify with the standardwebhooks library; tampering and old timestamps do not', async (t) => {
  const receiver = await startReceiver(t, () => 200)
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const { webhook, message } = await oneEvent(app, receiver.url)
  t.match(webhook.secret, /^whsec_[A-Za-z0-9+/=]+$/)
  await eventually(t, 'delivered', () => receiver.received.length === 1)
  const { headers, body } = receiver.received[0]!
  const standard = {
    'webhook-id': String(headers['webhook-id']),
    'webhook-timestamp': String(headers['webhook-timestamp']),
    'webhook-signature': String(headers['webhook-signature']),
  }
  t.equal(standard['webhook-id'], headers['smslinks-event-id'], 'webhook-id is the event id')
  t.match(standard['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/)

  const verifier = new Webhook(webhook.secret)
  t.match(verifier.verify(body, standard), { type: 'click', messageId: message.id, recipientId: 'a' })
  t.ok(signatureIsValid(webhook.secret, headers['smslinks-signature'], body), 'smslinks-signature still valid')

  const tampered = body.replace('"recipientId":"a"', '"recipientId":"b"')
  t.not(tampered, body)
  t.throws(() => verifier.verify(tampered, standard), { message: 'No matching signature found' }, 'tampered body')
  t.throws(
    () => new Webhook('whsec_' + Buffer.from('another secret').toString('base64')).verify(body, standard),
    { message: 'No matching signature found' },
    'another secret',
  )
  // The same delivery replayed ten minutes later.
  const realNow = Date.now
  const later = realNow() + 10 * 60_000
  Date.now = () => later
  try {
    t.throws(() => verifier.verify(body, standard), { message: 'Message timestamp too old' }, 'old timestamp')
  } finally {
    Date.now = realNow
  }
})
