import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp, tap } from '../helpers.js'

t.test('a text with the three URL forms and an emoji is rewritten per recipient, with exact segments', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const text = 'Hej 😀 Udsalg: https://shop.dk/sale, www.shop.dk/nyt og shop.dk/butikker.'
  const response = await postMessage(app, key, { text, recipients: ['cust-1', 'cust-2'] })
  t.equal(response.statusCode, 201)
  const message = json(response)
  t.same(
    message.links.map((link: { url: string }) => link.url),
    ['https://shop.dk/sale', 'https://www.shop.dk/nyt', 'https://shop.dk/butikker'],
    'every URL became a link, https:// added where missing, in order of appearance',
  )
  t.equal(message.text, text)
  const [a, b, c] = message.links.map((link: { code: string }) => link.code)
  for (const recipient of message.recipients) {
    const token = recipient.token
    const expected = `Hej 😀 Udsalg: https://s.shop.dk/${a}-${token}, https://s.shop.dk/${b}-${token} og https://s.shop.dk/${c}-${token}.`
    t.equal(recipient.text, expected, recipient.id)
    t.same(recipient.links, [
      `https://s.shop.dk/${a}-${token}`,
      `https://s.shop.dk/${b}-${token}`,
      `https://s.shop.dk/${c}-${token}`,
    ])
    // 'Hej 😀 Udsalg: ' is 15 UTF-16 units (the emoji is 2), each short link 29
    // (https:// + s.shop.dk/ + 6 + '-' + 4), then ', ' + ' og ' + '.': 15 + 3 × 29 + 7 = 109,
    // more than 70, so UCS-2 parts of 67: 2 parts.
    t.same(recipient.segments, { encoding: 'UCS-2', characters: 109, parts: 2 }, recipient.id)
  }
  // The original: 15 + 20 + 2 + 15 + 4 + 16 + 1 = 73 units.
  t.same(message.segments, {
    original: { encoding: 'UCS-2', characters: 73, parts: 2 },
    rewritten: { encoding: 'UCS-2', characters: 109, parts: 2 },
  })

  const tapped = await tap(app, message.recipients[1].links[2])
  t.equal(tapped.statusCode, 302)
  t.equal(tapped.headers.location, 'https://shop.dk/butikker')

  const stored = json(await app.inject({ url: `/v1/messages/${message.id}`, headers: bearer(key) }))
  t.equal(stored.text, text, 'GET returns the stored text')
  t.same(stored.segments, message.segments)
  t.notOk('recipients' in stored)
})

t.test('the same URL twice in a text is one link, used in both places', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const text = 'Se https://shop.dk/sale nu. Igen: shop.dk/sale og https://shop.dk/other'
  const message = json(await postMessage(app, key, { text, recipients: ['a'] }))
  t.same(
    message.links.map((link: { url: string }) => link.url),
    ['https://shop.dk/sale', 'https://shop.dk/other'],
    'shop.dk/sale with and without scheme is one destination',
  )
  const [sale, other] = message.recipients[0].links
  t.equal(message.recipients[0].text, `Se ${sale} nu. Igen: ${sale} og ${other}`)
})

t.test('recipients added later get their texts too', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { text: 'Tilbud: shop.dk/x', recipients: ['a'] }))
  const response = await app.inject({
    method: 'POST',
    url: `/v1/messages/${message.id}/recipients`,
    headers: bearer(key),
    payload: { recipients: ['b', 'a'] },
  })
  t.equal(response.statusCode, 200)
  const added = json(response)
  t.equal(added.recipients[0].text, `Tilbud: ${added.recipients[0].links[0]}`)
  t.same(added.recipients[1], message.recipients[0], 'a known recipient gets the same text')
})

t.test('the rewritten figures are those of the longest text, which grows with the recipients', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  // 124 + the short link: 29 characters with a 4-character token (up to 62 recipients),
  // 30 with 5 (from the 63rd), 31 with 6 (from the 3,845th).
  const text = `${'a'.repeat(123)} shop.dk/x`
  const recipients = Array.from({ length: 63 }, (_, i) => `r${i}`)
  const message = json(await postMessage(app, key, { text, recipients }))
  t.same(message.recipients[0].segments, { encoding: 'GSM-7', characters: 153, parts: 1 })
  t.same(message.recipients[62].segments, { encoding: 'GSM-7', characters: 154, parts: 1 })
  t.same(message.segments.rewritten, { encoding: 'GSM-7', characters: 154, parts: 1 })
  t.equal(message.recipients[62].text.length, 154)
})

t.test('re-posting a text with its externalId returns the same message; another text is a conflict', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const body = { externalId: 'promo-1', text: 'Sale: shop.dk/x', recipients: ['a'] }
  const first = json(await postMessage(app, key, body))
  const again = await postMessage(app, key, body)
  t.equal(again.statusCode, 200)
  t.same(json(again).recipients, first.recipients)

  const otherText = await postMessage(app, key, { ...body, text: 'Udsalg: shop.dk/x' })
  t.equal(otherText.statusCode, 409)
  t.match(json(otherText), { error: 'external_id_conflict', message: /other text/ })

  const asLinks = await postMessage(app, key, {
    externalId: 'promo-1',
    links: [{ url: 'https://shop.dk/x' }],
    recipients: ['a'],
  })
  t.equal(asLinks.statusCode, 409, 'the same links without the text is another send')
  t.match(json(asLinks).message, /other text/)
})

t.test('a message made from links carries no text figures', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: ['a'] }))
  t.match(message, { text: null, segments: null, stripScheme: false, utm: null, clickIdParam: null })
  t.same(Object.keys(message.recipients[0]), ['id', 'token', 'links', 'optedOut'])
})
