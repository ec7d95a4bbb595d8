import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { eventually, LOCAL_RECEIVERS, startReceiver } from '../fixtures/webhook-receiver.js'
import { bearer, confirmUnsubscribe, json, postMessage, startWithTenant, stats, testClock } from '../helpers.js'

const links = [{ url: 'https://shop.dk/sale' }]
const iso = (ms: number) => new Date(ms).toISOString()

function post(app: FastifyInstance, key: string, payload: object) {
  return app.inject({ method: 'POST', url: '/v1/optouts', headers: bearer(key), payload })
}
function postBatch(app: FastifyInstance, key: string, optOuts: object[]) {
  return app.inject({ method: 'POST', url: '/v1/optouts/batch', headers: bearer(key), payload: { optOuts } })
}
async function feed(app: FastifyInstance, key: string) {
  return json(await app.inject({ url: '/v1/optouts?limit=1000', headers: bearer(key) })).optOuts as Array<{
    recipient: string
    change: string
    source: string | null
    messageId: string | null
  }>
}
async function send(app: FastifyInstance, key: string, recipients: string[], extra: object = {}) {
  const response = await postMessage(app, key, { links, recipients, ...extra })
  if (response.statusCode !== 201) throw new Error(`message not created: ${response.body}`)
  return json(response)
}
const optedOut = (message: { recipients: Array<{ id: string; optedOut: boolean }> }) =>
  message.recipients.filter((recipient) => recipient.optedOut).map((recipient) => recipient.id)

t.test('a reply opt-out suppresses the recipient on the next message and counts in the stats', async (t) => {
  const clock = testClock()
  const { app, key } = await startWithTenant(t, { clock })
  const first = await send(app, key, ['cust-1', 'cust-2', 'cust-3', 'cust-4'], { campaign: 'spring' })
  clock.advance(60_000)

  const reply = { recipient: 'cust-2', source: 'reply', at: iso(clock.now()) }
  const recorded = await post(app, key, reply)
  t.equal(recorded.statusCode, 201)
  t.same(json(recorded), { recipient: 'cust-2', messageId: first.id, added: true, counted: true })
  const again = await post(app, key, reply)
  t.equal(again.statusCode, 200, 'posted twice: kept once, and the answer says so')
  t.same(json(again), { recipient: 'cust-2', messageId: first.id, added: false, counted: false })

  const figures = await stats(app, key, first.id)
  t.same(figures.unsubscribes, {
    linkVisits: 0,
    confirmed: 0,
    total: 1,
    bySource: { link: 0, reply: 1, import: 0, support: 0 },
  })
  t.equal(figures.unsubscribeRate, 0.25, 'one of four recipients')
  const campaign = json(await app.inject({ url: '/v1/campaigns/spring/stats', headers: bearer(key) }))
  t.match(campaign, {
    unsubscribes: 1,
    unsubscribesBySource: { link: 0, reply: 1, import: 0, support: 0 },
    unsubscribeRate: 0.25,
  })

  const next = await send(app, key, ['cust-1', 'cust-2'])
  t.same(optedOut(next), ['cust-2'], 'the next message marks the recipient who replied')
  t.same(await feed(app, key), [
    { recipient: 'cust-2', change: 'optout', source: 'reply', messageId: first.id, at: iso(clock.now()) },
  ])
})

t.test('an opt-out answers the named message, else the latest one sent before it', async (t) => {
  const clock = testClock()
  const { app, key } = await startWithTenant(t, { clock })
  const older = await send(app, key, ['a', 'b'])
  clock.advance(60_000)
  const between = clock.now()
  clock.advance(60_000)
  const newer = await send(app, key, ['a'])
  clock.advance(60_000)

  t.equal(json(await post(app, key, { recipient: 'a', source: 'support', at: iso(between) })).messageId, older.id)
  t.equal(
    json(await post(app, key, { recipient: 'b', source: 'reply', at: iso(clock.now()), messageId: older.id }))
      .messageId,
    older.id,
  )
  const named = json(
    await post(app, key, { recipient: 'a', source: 'reply', at: iso(clock.now()), messageId: newer.id }),
  )
  t.same(
    named,
    { recipient: 'a', messageId: newer.id, added: false, counted: true },
    'on the list already, new on this message',
  )
  t.same((await stats(app, key, newer.id)).unsubscribes.bySource, { link: 0, reply: 1, import: 0, support: 0 })
  t.same((await stats(app, key, older.id)).unsubscribes.bySource, { link: 0, reply: 1, import: 0, support: 1 })

  // A link confirmation of a recipient who already replied to the same message is not counted twice.
  const withLinks = await send(app, key, ['c'], { unsubscribe: true })
  clock.advance(1_000)
  await post(app, key, { recipient: 'c', source: 'reply', at: iso(clock.now()) })
  await confirmUnsubscribe(app, withLinks.recipients[0].unsubscribeUrl)
  t.same((await stats(app, key, withLinks.id)).unsubscribes, {
    linkVisits: 0,
    confirmed: 0,
    total: 1,
    bySource: { link: 0, reply: 1, import: 0, support: 0 },
  })
})

t.test('bad opt-outs are refused with what to fix, and nothing is stored', async (t) => {
  const clock = testClock()
  const { app, key } = await startWithTenant(t, { clock })
  const message = await send(app, key, ['a'])
  const other = await startWithTenant(t)
  const foreign = await send(other.app, other.key, ['a'])
  const now = clock.now()
  const cases: Array<[object, string, RegExp]> = [
    [{ recipient: 'a', source: 'link', at: iso(now) }, 'invalid_request', /source/],
    [{ recipient: 'a', source: 'reply' }, 'invalid_request', /at/],
    [{ recipient: 'a', source: 'reply', at: 'yesterday' }, 'invalid_request', /at/],
    [{ recipient: 'a', source: 'reply', at: iso(now + 3_600_000) }, 'invalid_time', /in the future/],
    [{ recipient: 'a', source: 'reply', at: iso(now), messageId: 'msg_nope' }, 'unknown_message', /msg_nope/],
    [{ recipient: 'a', source: 'reply', at: iso(now), messageId: foreign.id }, 'unknown_message', /not one of/],
    [{ recipient: 'zed', source: 'reply', at: iso(now), messageId: message.id }, 'not_a_recipient', /zed/],
    [{ recipient: ' a', source: 'reply', at: iso(now) }, 'invalid_request', /recipient/],
  ]
  for (const [payload, error, text] of cases) {
    const response = await post(app, key, payload)
    t.equal(response.statusCode, 400, JSON.stringify(payload))
    t.equal(json(response).error, error)
    t.match(json(response).message, text)
  }
  t.same(await feed(app, key), [], 'nothing on the list')
  t.same((await stats(app, key, message.id)).unsubscribes.total, 0)
})

t.test('an import with duplicates and unknown recipients keeps each once and suppresses all', async (t) => {
  const clock = testClock()
  const { app, key } = await startWithTenant(t, { clock })
  const ids = Array.from({ length: 3_000 }, (_, i) => `cust-${i}`)
  const message = await send(app, key, ids)
  clock.advance(60_000)
  const at = iso(clock.now())
  const entries = [
    ...ids.map((recipient) => ({ recipient, source: 'import', at })),
    { recipient: 'cust-5', source: 'import', at }, // a duplicate within the call
    { recipient: 'legacy-1', source: 'import', at }, // never sent to through us
    { recipient: 'legacy-1', source: 'import', at },
  ]
  const response = await postBatch(app, key, entries)
  t.equal(response.statusCode, 200, response.body)
  t.same(json(response), {
    received: 3_003,
    added: 3_001,
    alreadyOptedOut: 2,
    counted: 3_000,
    unknownRecipients: ['legacy-1'],
  })
  const again = json(await postBatch(app, key, entries.slice(0, 10)))
  t.match(again, { received: 10, added: 0, alreadyOptedOut: 10, counted: 0 }, 'the same import again adds nothing')

  const listed = await feed(app, key)
  t.equal(listed.length, 1_000, 'a page of the feed')
  t.same(listed[0], { recipient: 'cust-0', change: 'optout', source: 'import', messageId: message.id, at })
  const next = await send(app, key, ['cust-7', 'legacy-1', 'new-1'])
  t.same(optedOut(next), ['cust-7', 'legacy-1'], 'imported recipients are suppressed, known or not')
  t.same((await stats(app, key, message.id)).unsubscribes.bySource, { link: 0, reply: 0, import: 3_000, support: 0 })
  t.equal((await stats(app, key, message.id)).unsubscribeRate, 1)
})

t.test('an import with one bad entry is refused whole, naming the entry', async (t) => {
  const clock = testClock()
  const { app, key } = await startWithTenant(t, { clock })
  await send(app, key, ['a', 'b'])
  const at = iso(clock.now())
  const entries = [
    { recipient: 'a', source: 'import', at },
    { recipient: 'b', source: 'import', at },
    { recipient: 'c', source: 'import', at, messageId: 'msg_gone' },
  ]
  const response = await postBatch(app, key, entries)
  t.equal(response.statusCode, 400)
  t.equal(json(response).error, 'unknown_message')
  t.match(json(response).message, /^optOuts\[2\] \(c\): messageId msg_gone/)
  const future = await postBatch(app, key, [
    entries[0]!,
    { recipient: 'b', source: 'reply', at: iso(clock.now() + 86_400_000) },
  ])
  t.match(json(future), { error: 'invalid_time', message: /^optOuts\[1\] \(b\)/ })
  const schema = await postBatch(app, key, [entries[0]!, { recipient: 'b', source: 'sms', at }])
  t.equal(json(schema).error, 'invalid_request')
  t.match(json(schema).message, /optOuts\/1\/source/)
  t.equal((await postBatch(app, key, [])).statusCode, 400, 'an empty import is a mistake')
  t.same(await feed(app, key), [], 'nothing stored')
  t.same(optedOut(await send(app, key, ['a', 'b'])), [])
})

t.test('a re-subscribe is recorded, lifts suppression, and reaches webhooks', async (t) => {
  const receiver = await startReceiver(t, () => 200)
  const clock = testClock()
  const { app, key } = await startWithTenant(t, {
    clock,
    env: { ...LOCAL_RECEIVERS, WEBHOOK_POLL_INTERVAL_MS: '10' },
  })
  const hook = await app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: bearer(key),
    payload: { url: receiver.url, events: ['unsubscribe'] },
  })
  t.equal(hook.statusCode, 201, hook.body)
  const message = await send(app, key, ['cust-1'])
  clock.advance(1_000)
  const optedOutAt = iso(clock.now())
  await post(app, key, { recipient: 'cust-1', source: 'reply', at: optedOutAt })
  t.same(optedOut(await send(app, key, ['cust-1'])), ['cust-1'])

  const removed = await app.inject({ method: 'DELETE', url: '/v1/optouts/cust-1', headers: bearer(key) })
  t.equal(removed.statusCode, 200)
  t.same(json(removed), { recipient: 'cust-1', change: 'resubscribe', at: iso(clock.now()) })
  t.same(optedOut(await send(app, key, ['cust-1'])), [], 'suppression lifts')
  const twice = await app.inject({ method: 'DELETE', url: '/v1/optouts/cust-1', headers: bearer(key) })
  t.equal(twice.statusCode, 404, 'not on the list any more')
  t.equal(json(twice).error, 'not_found')

  t.same(
    (await feed(app, key)).map((entry) => [entry.recipient, entry.change, entry.source, entry.messageId]),
    [
      ['cust-1', 'optout', 'reply', message.id],
      ['cust-1', 'resubscribe', null, null],
    ],
  )
  t.same((await stats(app, key, message.id)).unsubscribes.total, 1, "the message's count stays")

  await eventually(t, 'both events delivered', () => receiver.received.length >= 2)
  const bodies = receiver.received.map((delivery) => JSON.parse(delivery.body))
  t.match(bodies[0], {
    type: 'unsubscribe',
    source: 'reply',
    recipientId: 'cust-1',
    messageId: message.id,
    time: optedOutAt,
  })
  t.match(bodies[1], { type: 'resubscribe', source: null, recipientId: 'cust-1', messageId: null })
})

t.test('an erased recipient stays suppressed until a re-subscribe by the same id', async (t) => {
  const clock = testClock()
  const { app, key } = await startWithTenant(t, { clock })
  await send(app, key, ['cust-9'])
  clock.advance(1_000)
  t.equal((await post(app, key, { recipient: 'cust-9', source: 'support', at: iso(clock.now()) })).statusCode, 201)
  const erased = await app.inject({ method: 'DELETE', url: '/v1/recipients/cust-9', headers: bearer(key) })
  t.equal(erased.statusCode, 204)
  t.same(optedOut(await send(app, key, ['cust-9'])), ['cust-9'], 'suppressed under its keyed hash')
  t.notOk(JSON.stringify(await feed(app, key)).includes('cust-9'), 'the feed no longer names the id')

  const removed = await app.inject({ method: 'DELETE', url: '/v1/optouts/cust-9', headers: bearer(key) })
  t.equal(removed.statusCode, 200)
  t.same(optedOut(await send(app, key, ['cust-9'])), [], 'suppression lifts')
  t.same(
    (await feed(app, key)).map((entry) => [entry.recipient.slice(0, 7), entry.change]),
    [
      ['erased:', 'optout'],
      ['erased:', 'resubscribe'],
    ],
  )
})
