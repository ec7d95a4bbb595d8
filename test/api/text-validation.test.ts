import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp } from '../helpers.js'

t.test('a message needs exactly one of text and links; bad texts are refused and nothing is stored', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const eleven = Array.from({ length: 11 }, (_, i) => `shop.dk/${i}`).join(' ')
  const cases: Array<[object, string, RegExp]> = [
    [{ recipients: ['a'] }, 'invalid_request', /either "links".* or "text"/],
    [{ text: 'Se shop.dk/x', links: [{ url: 'https://shop.dk/x' }], recipients: ['a'] }, 'invalid_request', /not both/],
    [{ text: '', recipients: ['a'] }, 'invalid_request', /text/],
    [{ text: 'x'.repeat(1601), recipients: ['a'] }, 'invalid_request', /text/],
    [{ text: 'Hej! Ingen links her.', recipients: ['a'] }, 'no_links', /no URL/],
    [
      { text: 'Afmeld: {unsubscribe} shop.dk/x', unsubscribe: false, recipients: ['a'] },
      'invalid_request',
      /\{unsubscribe\} but "unsubscribe" is false/,
    ],
    [{ text: eleven, recipients: ['a'] }, 'too_many_links', /11 different URLs; at most 10/],
    [{ text: 'Log ind: https://user:pw@shop.dk/x', recipients: ['a'] }, 'invalid_url', /user name or password/],
    [
      { text: 'Se https://intranet/x', recipients: ['a'] },
      'invalid_url',
      /"https:\/\/intranet\/x" in text needs a full host/,
    ],
    [{ links: [{ url: 'https://shop.dk/x' }], stripScheme: true, recipients: ['a'] }, 'invalid_request', /stripScheme/],
    [{ text: 'shop.dk/x', stripScheme: 'yes', recipients: ['a'] }, 'invalid_request', /stripScheme/],
  ]
  for (const [payload, error, message] of cases) {
    const response = await postMessage(app, key, payload)
    t.equal(response.statusCode, 400, JSON.stringify(payload).slice(0, 80))
    t.match(json(response), { error, message }, JSON.stringify(payload).slice(0, 80))
  }
  const ten = Array.from({ length: 10 }, (_, i) => `shop.dk/${i}`).join(' ')
  t.equal(
    (await postMessage(app, key, { text: `${ten} shop.dk/0`, recipients: ['a'] })).statusCode,
    201,
    'ten distinct URLs, one repeated, are fine',
  )
  const list = json(await app.inject({ url: '/v1/messages', headers: bearer(key) }))
  t.equal(list.messages.length, 1, 'only the valid message was stored')
})
