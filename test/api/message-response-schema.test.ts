import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import t from 'tap'
import { MessageBody, MessageWithRecipientsBody } from '../../src/routes/schemas.js'
import { bearer, createTenant, postMessage, startApp, confirmUnsubscribe } from '../helpers.js'

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

// The answer with recipients is written as JSON text by src/messages/present.ts, not by
// the route's schema serializer: these tests hold the two together.
const ajv = new Ajv({ strict: false })
addFormats(ajv)
const validate = ajv.compile(MessageWithRecipientsBody)
const messageKeys = [...Object.keys(MessageBody.properties), 'recipients']
const recipientKeys = Object.keys(
  (
    MessageWithRecipientsBody as unknown as {
      allOf: [unknown, { properties: { recipients: { items: { properties: object } } } }]
    }
  ).allOf[1].properties.recipients.items.properties,
)

t.test('answers with recipients are what the OpenAPI document describes, and nothing else', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  // One recipient opts out on an earlier message's unsubscribe page.
  const earlier = (
    await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/x' }],
      recipients: ['gone "for" good'],
      unsubscribe: true,
    })
  ).json()
  const confirmed = await confirmUnsubscribe(app, earlier.recipients[0].unsubscribeUrl)
  t.equal(confirmed.statusCode, 200)
  const recipients = ['a', 'b"\\c\td\u0001', 'gone "for" good', '\ud800 lone', 'ÆØÅ 😀']
  const calls = [
    { links: [{ url: 'https://shop.dk/x' }], recipients },
    {
      externalId: 'e"1',
      kind: 'flow',
      campaign: 'c',
      variant: 'B',
      links: [{ url: 'https://shop.dk/x?a="1"' }, { url: 'https://shop.dk/y' }],
      recipients,
      unsubscribe: true,
      utm: { source: 'sms', campaign: 'x"y' },
      clickIdParam: 'cid',
      expiresAt: '2099-01-01T00:00:00Z',
    },
    { text: 'Sale "now" 😀 shop.dk/x and https://shop.dk/y?q=1 {unsubscribe}\nbye', stripScheme: true, recipients },
  ]
  for (const payload of calls) {
    const created = await postMessage(app, key, payload)
    const added = await app.inject({
      method: 'POST',
      url: `/v1/messages/${created.json().id}/recipients`,
      headers: bearer(key),
      payload: { recipients: ['new one', 'a'] },
    })
    for (const response of [created, added]) {
      t.match(response.statusCode, /^20[01]$/)
      t.equal(response.headers['content-type'], 'application/json; charset=utf-8')
      const body = response.json()
      t.ok(validate(body), JSON.stringify(validate.errors))
      t.same(
        Object.keys(body).filter((key) => !messageKeys.includes(key)),
        [],
        'no undocumented message fields',
      )
      for (const recipient of body.recipients) {
        const extra = Object.keys(recipient).filter((key) => !recipientKeys.includes(key))
        if (extra.length > 0) t.fail(`undocumented recipient fields ${extra.join(', ')}`)
      }
    }
    const body = created.json()
    t.same(
      body.recipients.map((r: { id: string }) => r.id),
      recipients,
      'ids as sent',
    )
    t.same(
      body.recipients.map((r: { optedOut: boolean }) => r.optedOut),
      [false, false, true, false, false],
    )
  }
})
