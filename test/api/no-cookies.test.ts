import t from 'tap'
import { createTenant, json, postMessage, startApp, tap, UA, confirmUnsubscribe } from '../helpers.js'

t.test('no response a recipient can get sets a cookie', async (t) => {
  const app = await startApp(t)
  const { key, host } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'], unsubscribe: true }),
  )
  const link = message.recipients[0].links[0]
  const unsubscribe = new URL(message.recipients[0].unsubscribeUrl)
  const responses = {
    redirect: await tap(app, link),
    'redirect, HEAD': await tap(app, link, { method: 'HEAD' }),
    'redirect, preview': await tap(app, link, { userAgent: UA.whatsapp }),
    'redirect, bad token': await tap(app, `${link.slice(0, -2)}zz`),
    'unknown code': await tap(app, `https://${host}/nope42`),
    'unknown host': await tap(app, 'https://unknown.example/abc'),
    'unsubscribe page': await app.inject({ url: unsubscribe.pathname, headers: { host: unsubscribe.host } }),
    'unsubscribe confirm': await confirmUnsubscribe(app, unsubscribe.href),
    'bad unsubscribe link': await app.inject({ url: '/u/nope-zz', headers: { host } }),
  }
  t.equal(responses.redirect.statusCode, 302, 'sanity: a redirect')
  t.equal(responses['unknown code'].statusCode, 404, 'sanity: a 404 page')
  t.equal(responses['unsubscribe confirm'].statusCode, 200, 'sanity: confirmed')
  for (const [what, response] of Object.entries(responses)) {
    t.notOk(response.headers['set-cookie'], `${what}: no Set-Cookie`)
  }
})
