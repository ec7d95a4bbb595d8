import type { FastifyInstance } from 'fastify'
import { once } from 'node:events'
import { createServer } from 'node:net'
import t from 'tap'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  tap,
  UA,
  confirmUnsubscribe,
} from '../helpers.js'
import { eventually, FAST_WEBHOOKS, signatureIsValid, startReceiver } from '../fixtures/webhook-receiver.js'

const register = (app: FastifyInstance, key: string, payload: object) =>
  app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(key), payload })

t.test('a receiver that fails three times then succeeds gets each event once as a success, signed', async (t) => {
  const receiver = await startReceiver(t, (_id, attempt) => (attempt <= 3 ? 500 : 204))
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const { key } = await createTenant(app)
  const created = await register(app, key, { url: receiver.url, events: ['click', 'unsubscribe'] })
  t.equal(created.statusCode, 201)
  const webhook = json(created)
  t.match(webhook, { id: /^whk_/, url: receiver.url, events: ['click', 'unsubscribe'], secret: /^whsec_/ })

  const message = json(
    await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/sale' }],
      recipients: ['cust-1', 'cust-2'],
      unsubscribe: true,
    }),
  )
  await tap(app, message.recipients[0].links[0])
  await tap(app, message.recipients[1].links[0], { userAgent: UA.whatsapp })
  await flushClicks(app)
  await confirmUnsubscribe(app, message.recipients[1].unsubscribeUrl)

  const successes = () => receiver.received.filter((r) => r.status === 204)
  await eventually(t, 'three events delivered', () => successes().length === 3)
  // Give any stray duplicate a chance to arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 200))

  t.equal(receiver.received.length, 12, 'four attempts per event')
  const delivered = successes()
  const ids = delivered.map((r) => r.headers['smslinks-event-id'])
  t.equal(new Set(ids).size, 3, 'each event succeeded exactly once')
  for (const attempt of receiver.received) {
    t.ok(
      signatureIsValid(webhook.secret, attempt.headers['smslinks-signature'], attempt.body),
      'signed with the secret',
    )
    t.equal(attempt.headers['content-type'], 'application/json')
    t.equal(JSON.parse(attempt.body).id, attempt.headers['smslinks-event-id'], 'the id is in the body and the header')
  }
  t.notOk(signatureIsValid('whsec_wrong', delivered[0]!.headers['smslinks-signature'], delivered[0]!.body))

  const events = delivered.map((r) => JSON.parse(r.body))
  const clicks = events.filter((e) => e.type === 'click')
  const human = clicks.find((e) => e.click.class === 'human')
  t.match(human, {
    type: 'click',
    messageId: message.id,
    recipientId: 'cust-1',
    link: { id: message.links[0].id, url: 'https://shop.dk/sale' },
    click: { class: 'human', reason: null },
  })
  t.match(human.time, /^\d{4}-\d\d-\d\dT.*Z$/)
  t.match(
    clicks.find((e) => e.click.class === 'preview'),
    { recipientId: 'cust-2', click: { class: 'preview', reason: 'preview_user_agent' } },
  )
  t.match(
    events.find((e) => e.type === 'unsubscribe'),
    {
      type: 'unsubscribe',
      messageId: message.id,
      recipientId: 'cust-2',
      link: null,
      click: null,
      source: 'link',
    },
  )

  const log = json(await app.inject({ url: `/v1/webhooks/${webhook.id}/deliveries`, headers: bearer(key) }))
  t.equal(log.deliveries.length, 12)
  t.same(log.deliveries.map((d: { outcome: string }) => d.outcome).sort(), [
    ...Array(3).fill('delivered'),
    ...Array(9).fill('retrying'),
  ])
  const failedAttempt = log.deliveries.find((d: { outcome: string }) => d.outcome === 'retrying')
  t.match(failedAttempt, { statusCode: 500, error: 'answered HTTP 500', attempt: /^[123]$/ })
  t.match(
    log.deliveries.find((d: { outcome: string }) => d.outcome === 'delivered'),
    { statusCode: 204, error: null, attempt: 4 },
  )
})

t.test('only subscribed event types and tenants produce events', async (t) => {
  const receiver = await startReceiver(t, () => 200)
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const { key } = await createTenant(app)
  const other = await createTenant(app, 's.other.dk', 'Other')
  t.equal((await register(app, key, { url: receiver.url, events: ['unsubscribe'] })).statusCode, 201)
  const mine = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'], unsubscribe: true }),
  )
  const theirs = json(
    await postMessage(app, other.key, { links: [{ url: 'https://o.dk' }], recipients: ['a'], unsubscribe: true }),
  )
  await tap(app, mine.recipients[0].links[0])
  await tap(app, theirs.recipients[0].links[0])
  await flushClicks(app)
  await confirmUnsubscribe(app, theirs.recipients[0].unsubscribeUrl)
  await confirmUnsubscribe(app, mine.recipients[0].unsubscribeUrl)
  await confirmUnsubscribe(app, mine.recipients[0].unsubscribeUrl)
  await eventually(t, 'the unsubscribe event', () => receiver.received.length >= 1)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(receiver.received.length, 1, 'one event: no clicks, not the other tenant, not the repeated confirmation')
  t.match(JSON.parse(receiver.received[0]!.body), { type: 'unsubscribe', messageId: mine.id })
})

t.test('an event still failing after WEBHOOK_GIVE_UP_AFTER_MS is marked failed and not retried', async (t) => {
  const receiver = await startReceiver(t, () => 503)
  const app = await startApp(t, { env: { ...FAST_WEBHOOKS, WEBHOOK_GIVE_UP_AFTER_MS: '1' } })
  const { key } = await createTenant(app)
  const webhook = json(await register(app, key, { url: receiver.url, events: ['click'] }))
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  await tap(app, message.recipients[0].links[0])
  await flushClicks(app)
  await eventually(t, 'the first attempt', () => receiver.received.length >= 1)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(receiver.received.length, 1, 'given up after the first failure')
  const log = json(await app.inject({ url: `/v1/webhooks/${webhook.id}/deliveries`, headers: bearer(key) }))
  t.match(log.deliveries, [{ outcome: 'failed', statusCode: 503, attempt: 1 }])
})

t.test('an unreachable receiver is retried with the error recorded', async (t) => {
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const { key } = await createTenant(app)
  // A port that was just free: nothing listens there, the connection is refused.
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  const webhook = json(await register(app, key, { url: `http://127.0.0.1:${port}/hooks`, events: ['click'] }))
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  await tap(app, message.recipients[0].links[0])
  await flushClicks(app)
  let log: { deliveries: Array<{ outcome: string; statusCode: number | null; error: string }> } = { deliveries: [] }
  await eventually(t, 'two attempts', async () => {
    log = json(await app.inject({ url: `/v1/webhooks/${webhook.id}/deliveries`, headers: bearer(key) }))
    return log.deliveries.length >= 2
  })
  t.match(log.deliveries[0], { outcome: 'retrying', statusCode: null, error: /ECONNREFUSED/ })
})

t.test('deleting a webhook stops the retries of its pending events', async (t) => {
  const receiver = await startReceiver(t, () => 500)
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const { key } = await createTenant(app)
  const webhook = json(await register(app, key, { url: receiver.url, events: ['click'] }))
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  await tap(app, message.recipients[0].links[0])
  await flushClicks(app)
  await eventually(t, 'a failed attempt', () => receiver.received.length >= 1)
  await app.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: bearer(key) })
  // A post may be in flight while the webhook is deleted; let it land, then count.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const afterDelete = receiver.received.length
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(receiver.received.length, afterDelete, 'no attempt after the deletion')
})

t.test('webhooks are listed without secrets, deleted, and validated', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const created = json(await register(app, key, { url: 'https://hooks.shop.dk/smslinks', events: ['click'] }))
  const list = json(await app.inject({ url: '/v1/webhooks', headers: bearer(key) }))
  t.same(list.webhooks, [
    { id: created.id, url: 'https://hooks.shop.dk/smslinks', events: ['click'], createdAt: created.createdAt },
  ])

  for (const payload of [
    { url: 'ftp://hooks.shop.dk', events: ['click'] },
    { url: 'javascript:alert(1)', events: ['click'] },
  ]) {
    const response = await register(app, key, payload)
    t.equal(response.statusCode, 400, payload.url)
    t.equal(json(response).error, 'invalid_url')
  }
  for (const payload of [
    { url: 'https://hooks.shop.dk', events: [] },
    { url: 'https://hooks.shop.dk', events: ['open'] },
    { url: 'https://hooks.shop.dk', events: ['click'], secret: 'mine' },
  ]) {
    t.equal((await register(app, key, payload)).statusCode, 400, JSON.stringify(payload))
  }

  const deleted = await app.inject({ method: 'DELETE', url: `/v1/webhooks/${created.id}`, headers: bearer(key) })
  t.equal(deleted.statusCode, 204)
  t.same(json(await app.inject({ url: '/v1/webhooks', headers: bearer(key) })).webhooks, [])
  const twice = await app.inject({ method: 'DELETE', url: `/v1/webhooks/${created.id}`, headers: bearer(key) })
  t.equal(twice.statusCode, 404)
})

t.test("another tenant's key gets 404 on every webhook route", async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const other = await createTenant(app, 's.other.dk', 'Other')
  const webhook = json(await register(app, key, { url: 'https://hooks.shop.dk', events: ['click'] }))
  const deliveries = await app.inject({ url: `/v1/webhooks/${webhook.id}/deliveries`, headers: bearer(other.key) })
  t.equal(deliveries.statusCode, 404)
  t.same(json(deliveries), { error: 'not_found', message: 'webhook not found' })
  const remove = await app.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: bearer(other.key) })
  t.equal(remove.statusCode, 404)
  t.same(json(await app.inject({ url: '/v1/webhooks', headers: bearer(other.key) })).webhooks, [])
  t.equal(json(await app.inject({ url: '/v1/webhooks', headers: bearer(key) })).webhooks.length, 1, 'still there')
  t.equal((await app.inject({ url: '/v1/webhooks' })).statusCode, 401)
})

t.test('an event is not delivered again from a due list read before its delivery was recorded', async (t) => {
  const receiver = await startReceiver(t, () => 204)
  const app = await startApp(t, { env: FAST_WEBHOOKS })
  const store = app.services.store
  const claim = store.claimWebhookEvents.bind(store)
  // Over a network the answer can arrive after a delivery listed in it has ended and
  // been recorded; here every answer is held back long enough for that to happen.
  store.claimWebhookEvents = async (...args) => {
    const due = await claim(...args)
    await new Promise((resolve) => setTimeout(resolve, 30))
    return due
  }
  const { key } = await createTenant(app)
  t.equal((await register(app, key, { url: receiver.url, events: ['click'] })).statusCode, 201)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a', 'b', 'c', 'd'] }),
  )
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  await flushClicks(app)
  await eventually(t, 'four events delivered', () => receiver.received.length >= 4)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(receiver.received.length, 4, 'each event once')
})
