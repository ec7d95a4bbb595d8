import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp } from '../helpers.js'

const links = [{ url: 'https://shop.dk/x' }]
const ids = (count: number) => Array.from({ length: count }, (_, i) => `cust-${i}`)

t.test('a bad id deep in a long list gets the error a short list gets, and nothing is stored', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const faults: Array<[string, unknown]> = [
    ['empty', ''],
    ['a number', 7],
    ['spaces around it', ' cust '],
    ['too long', 'x'.repeat(129)],
  ]
  for (const [fault, bad] of faults) {
    const short = ['a', 'b', bad]
    const long = ids(60_000)
    long[59_999] = bad as string
    const shortAnswer = await postMessage(app, key, { links, recipients: short })
    const longAnswer = await postMessage(app, key, { links, recipients: long })
    t.equal(longAnswer.statusCode, 400, fault)
    t.same(
      json(longAnswer),
      { ...json(shortAnswer), message: json(shortAnswer).message.replace('/recipients/2', '/recipients/59999') },
      `${fault}: the same error, naming the item`,
    )
    const message = await app.inject({
      method: 'POST',
      url: '/v1/messages/msg_p7Z666gD109LzY4S/recipients',
      headers: bearer(key),
      payload: { recipients: long },
    })
    t.equal(message.statusCode, 400, `${fault}: adding recipients checks them before looking the message up`)
    t.match(json(message).message, /recipients\/59999/)
  }
  const tooMany = await postMessage(app, key, { links, recipients: ids(100_001) })
  t.equal(tooMany.statusCode, 400)
  t.match(json(tooMany), { error: 'invalid_request', message: /recipients must NOT have more than 100000 items/ })
  const otherField = await postMessage(app, key, { links, recipients: ids(60_000), kind: 'bulk' })
  t.equal(otherField.statusCode, 400)
  t.match(json(otherField), { error: 'invalid_request', message: /kind/ })
  const list = json(await app.inject({ url: '/v1/messages', headers: bearer(key) }))
  t.same(list.messages, [], 'no message was stored')
})

t.test('a long list of good ids is taken whole, each id once, in the order first named', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const distinct = ids(12_345)
  // Repeats far apart: before and after the first 10,000, and at the end.
  const recipients = [...distinct.slice(0, 10_500), 'cust-3', ...distinct.slice(10_500), 'cust-10499', 'cust-0']
  const response = await postMessage(app, key, { links, recipients })
  t.equal(response.statusCode, 201)
  const message = json(response)
  t.equal(message.recipientCount, 12_345)
  t.same(
    message.recipients.map((r: { id: string }) => r.id),
    distinct,
  )
  const added = await app.inject({
    method: 'POST',
    url: `/v1/messages/${message.id}/recipients`,
    headers: bearer(key),
    payload: { recipients: [...recipients, 'new-one', 'cust-7', 'new-one'] },
  })
  t.equal(added.statusCode, 200)
  const again = json(added)
  t.equal(again.recipientCount, 12_346)
  t.same(
    again.recipients.map((r: { id: string }) => r.id),
    [...distinct, 'new-one'],
  )
  t.same(again.recipients.slice(0, 12_345), message.recipients, 'ids already there keep their tokens')
})

t.test('a long body that is not valid JSON gets the answer a short one gets', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const send = (payload: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      payload,
    })
  const body = (recipients: string[]) => JSON.stringify({ links, recipients })
  const long = body(ids(60_000))
  const short = body(ids(3))
  const spoil: Array<[string, (text: string) => string]> = [
    ['a doubled comma', (text) => text.replace('"cust-1",', '"cust-1",,')],
    ['a trailing comma', (text) => text.replace(/"\]\}$/, '",]}')],
    ['an unclosed string', (text) => text.replace('"cust-2"', '"cust-2')],
    ['a cut-off body', (text) => text.slice(0, -2)],
    ['a prototype key', (text) => text.replace('{"links"', '{"__proto__":{"x":1},"links"')],
  ]
  for (const [fault, change] of spoil) {
    const shortAnswer = await send(change(short))
    const longAnswer = await send(change(long))
    t.equal(shortAnswer.statusCode, 400, fault)
    t.same(json(longAnswer), json(shortAnswer), fault)
    t.equal(json(longAnswer).error, 'invalid_json', fault)
  }
  const repeated = await send(`${long.slice(0, -1)},"recipients":["only-me"]}`)
  t.equal(repeated.statusCode, 201, 'a repeated member: the last one counts, as in JSON.parse')
  t.same(
    json(repeated).recipients.map((r: { id: string }) => r.id),
    ['only-me'],
  )
  const list = json(await app.inject({ url: '/v1/messages', headers: bearer(key) }))
  t.equal(list.messages.length, 1, 'nothing else was stored')
})
