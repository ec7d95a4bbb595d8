import t from 'tap'
import { bearer, createTenant, flushClicks, json, postMessage, startApp, tap, tempDatabasePath } from '../helpers.js'
import { eventually, FAST_WEBHOOKS, signatureIsValid, startReceiver } from '../fixtures/webhook-receiver.js'

t.test('a restart loses no pending event: each is delivered once after it', async (t) => {
  let up = false
  const receiver = await startReceiver(t, () => (up ? 200 : 500))
  const databasePath = tempDatabasePath(t)

  const first = await startApp(t, { databasePath, env: FAST_WEBHOOKS })
  const { key } = await createTenant(first)
  const webhook = json(
    await first.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(key),
      payload: { url: receiver.url, events: ['click'] },
    }),
  )
  const message = json(await postMessage(first, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  await tap(first, message.recipients[0].links[0])
  await flushClicks(first)
  await eventually(t, 'a failed attempt before the restart', () => receiver.received.length >= 2)
  // Still queued in memory when the app closes: close writes it, with its event.
  await tap(first, message.recipients[1].links[0])
  await first.close()
  // A post the closing app abandoned may still be read by the receiver a moment later:
  // it must meet the receiver while it is still failing, as it would have been sent.
  for (let seen = -1; seen !== receiver.received.length;) {
    seen = receiver.received.length
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const beforeRestart = receiver.received.length

  up = true
  // The new app's worker finds the pending events in the outbox.
  await startApp(t, { databasePath, env: FAST_WEBHOOKS })
  const successes = () => receiver.received.filter((r) => r.status === 200)
  await eventually(t, 'both events delivered after the restart', () => successes().length === 2)
  await new Promise((resolve) => setTimeout(resolve, 200))

  t.ok(
    receiver.received.slice(0, beforeRestart).every((r) => r.status === 500),
    'nothing succeeded before',
  )
  t.equal(successes().length, 2, 'each event delivered once')
  const bodies = successes().map((r) => JSON.parse(r.body))
  t.same(bodies.map((b) => b.recipientId).sort(), ['a', 'b'])
  for (const r of successes()) t.ok(signatureIsValid(webhook.secret, r.headers['smslinks-signature'], r.body))
  const ids = new Set(receiver.received.map((r) => r.headers['smslinks-event-id']))
  t.equal(ids.size, 2, 'retries carry the same event id, before and after the restart')
})
