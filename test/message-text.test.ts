import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp, tap } from './helpers.js'

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
    t.same(recipient.links, [`https://s.shop.dk/${a}-${token}`, `https://s.shop.dk/${b}-${token}`, `https://s.shop.dk/${c}-${token}`])
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
