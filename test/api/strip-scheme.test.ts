import t from 'tap'
import { createTenant, json, postMessage, startApp, tap } from '../helpers.js'

t.test('stripScheme leaves https:// out of links in texts, not out of the links arrays', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const text = 'Udsalg! https://shop.dk/sale og shop.dk/nyt'
  const plain = json(await postMessage(app, key, { text, recipients: ['a'] }))
  const stripped = json(await postMessage(app, key, { text, stripScheme: true, recipients: ['a'] }))
  t.equal(stripped.stripScheme, true)

  const [sale, nyt] = stripped.recipients[0].links
  t.match(sale, /^https:\/\/s\.shop\.dk\//, 'links keep the full URL')
  t.equal(stripped.recipients[0].text, `Udsalg! ${sale.slice(8)} og ${nyt.slice(8)}`)
  t.match(stripped.recipients[0].text, /^Udsalg! s\.shop\.dk\/\w{6}-\w{4} og s\.shop\.dk\/\w{6}-\w{4}$/)
  t.equal(
    plain.recipients[0].segments.characters - stripped.recipients[0].segments.characters,
    16,
    '8 characters saved per link',
  )
  t.equal(stripped.segments.rewritten.characters, plain.segments.rewritten.characters - 16)
  t.same(stripped.segments.original, plain.segments.original)

  const response = await tap(app, sale)
  t.equal(response.statusCode, 302, 'the link still works')
})

t.test('stripScheme takes http:// off a plain-http domain too', async (t) => {
  const app = await startApp(t)
  const tenant = await createTenant(app, 's.shop.dk')
  const admin = { authorization: 'Bearer test-admin-token-0123456789' }
  await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant.tenantId}/domains`,
    headers: admin,
    payload: { host: 'localhost:3000', scheme: 'http' },
  })
  const message = json(
    await postMessage(app, tenant.key, {
      domain: 'localhost:3000',
      text: 'shop.dk/x',
      stripScheme: true,
      recipients: ['a'],
    }),
  )
  t.match(message.recipients[0].links[0], /^http:\/\/localhost:3000\//)
  t.equal(message.recipients[0].text, message.recipients[0].links[0].slice('http://'.length))
})
