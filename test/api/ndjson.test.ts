import tap, { type Test } from 'tap'
import { bearer, createTenant, json, postMessage, startApp } from '../helpers.js'

const ndjson = { accept: 'application/x-ndjson' }

function lines(t: Test, body: string): any[] {
  t.ok(body.endsWith('\n'), 'every line ends with a newline')
  return body
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line))
}

tap.test('Accept: application/x-ndjson streams the message, then one line per recipient', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const recipients = Array.from({ length: 2_500 }, (_, i) => `cust-${i}`)
  const payload = { externalId: 'big', text: 'Sale 😀 shop.dk/x', recipients }
  const response = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...bearer(key), ...ndjson },
    payload,
  })
  t.equal(response.statusCode, 201)
  t.match(response.headers['content-type'], /^application\/x-ndjson/)
  const [message, ...rest] = lines(t, response.body)
  t.match(message, { id: /^msg_/, externalId: 'big', recipientCount: 2_500, text: 'Sale 😀 shop.dk/x' })
  t.same(message.segments.original, { encoding: 'UCS-2', characters: 17, parts: 1 }, '4 + 1 + 2 (the emoji) + 1 + 9')
  t.notOk('recipients' in message, 'the first line carries no recipients')
  t.equal(rest.length, 2_500)
  t.same(
    rest.map((r) => r.id),
    recipients,
    'one line per recipient, in the order given',
  )
  t.match(rest[2_499], {
    id: 'cust-2499',
    token: /^\w{5}$/,
    links: [/^https:\/\/s\.shop\.dk\//],
    segments: { encoding: 'UCS-2' },
  })
  t.equal(rest[2_499].text, `Sale 😀 ${rest[2_499].links[0]}`)

  // The JSON answer to the same call holds the same recipients.
  const again = json(await app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(key), payload }))
  t.equal(again.id, message.id)
  t.same(again.recipients, rest)

  const repost = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...bearer(key), ...ndjson },
    payload,
  })
  t.equal(repost.statusCode, 200, 'status codes as for JSON')
})

tap.test('adding recipients streams too', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: ['a'] }))
  const response = await app.inject({
    method: 'POST',
    url: `/v1/messages/${message.id}/recipients`,
    headers: { ...bearer(key), accept: 'application/json;q=0.5, application/x-ndjson' },
    payload: { recipients: ['b', 'a'] },
  })
  t.equal(response.statusCode, 200)
  const [head, b, a] = lines(t, response.body)
  t.match(head, { id: message.id, recipientCount: 2 })
  t.equal(b.id, 'b')
  t.same(a, message.recipients[0])
})

tap.test('errors are JSON whatever the Accept header says', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const response = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...bearer(key), ...ndjson },
    payload: { recipients: ['a'] },
  })
  t.equal(response.statusCode, 400)
  t.equal(json(response).error, 'invalid_request')
  const missing = await app.inject({
    method: 'POST',
    url: '/v1/messages/msg_nope/recipients',
    headers: { ...bearer(key), ...ndjson },
    payload: { recipients: ['a'] },
  })
  t.equal(missing.statusCode, 404)
  t.equal(json(missing).error, 'not_found')
})

tap.test('1,000 recipients, answered whole, and 1,001, streamed, read the same', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  for (const count of [1_000, 1_001]) {
    const recipients = Array.from({ length: count }, (_, i) => `cust-${i}`)
    const payload = { externalId: `send-${count}`, text: 'Sale shop.dk/x {unsubscribe}', recipients }
    const whole = json(await postMessage(app, key, payload))
    t.equal(whole.recipients.length, count)
    t.same(
      whole.recipients.map((r: { id: string }) => r.id),
      recipients,
    )
    const response = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...bearer(key), ...ndjson },
      payload,
    })
    t.equal(response.headers['content-type'], 'application/x-ndjson; charset=utf-8')
    const [message, ...rest] = lines(t, response.body)
    const { recipients: _recipients, ...messageFields } = whole
    t.same(message, messageFields, `${count}: the first line is the message`)
    t.same(rest, whole.recipients, `${count}: then the same recipients, one a line`)
  }
  const none = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...bearer(key), ...ndjson },
    payload: { links: [{ url: 'https://shop.dk/x' }], recipients: [] },
  })
  t.equal(none.statusCode, 201)
  const noneLines = lines(t, none.body)
  t.equal(noneLines.length, 1, 'no recipients: the message line alone')
  t.match(noneLines[0], { recipientCount: 0 })
})
