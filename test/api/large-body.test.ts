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

t.test('a long list of good ids is taken whole', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const recipients = ids(12_345)
  const response = await postMessage(app, key, { links, recipients })
  t.equal(response.statusCode, 201)
  const message = json(response)
  t.equal(message.recipientCount, 12_345)
  t.same(
    message.recipients.map((r: { id: string }) => r.id),
    recipients,
  )
})
