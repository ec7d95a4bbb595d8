import t from 'tap'
import { admin, createTenant, json, postMessage, startApp, tap, startWithMessage, withEachBackend } from '../helpers.js'

const SALE = {
  links: [{ url: 'https://shop.dk/sale?x=1&y=å' }, { url: 'https://shop.dk/terms' }],
  recipients: ['cust-1', 'cust-2'],
}

withEachBackend(t, (t) => {
  t.test('a recipient link answers 302 to the destination, never cached by the browser', async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    const response = await tap(app, message.recipients[0].links[0])
    t.equal(response.statusCode, 302)
    t.equal(response.headers.location, 'https://shop.dk/sale?x=1&y=%C3%A5')
    t.equal(response.headers['cache-control'], 'private, max-age=0')
    t.notOk(response.headers['set-cookie'], 'no cookie')

    const second = await tap(app, message.recipients[1].links[1])
    t.equal(second.statusCode, 302)
    t.equal(second.headers.location, 'https://shop.dk/terms')
  })

  t.test('the bare code redirects too', async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    const response = await tap(app, message.links[0].shortUrl)
    t.equal(response.statusCode, 302)
    t.equal(response.headers.location, message.links[0].url)
  })

  t.test('a mangled or forged token still redirects', async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    const code = message.links[0].code
    for (const token of ['zzzz', '0', 'x', '00AAA', 'ÆØÅ1', `${message.recipients[0].token}9`]) {
      const response = await tap(app, `https://s.shop.dk/${encodeURIComponent(`${code}-${token}`)}`)
      t.equal(response.statusCode, 302, token)
      t.equal(response.headers.location, message.links[0].url, token)
    }
  })

  t.test('HEAD redirects like GET', async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    const response = await tap(app, message.recipients[0].links[0], { method: 'HEAD' })
    t.equal(response.statusCode, 302)
    t.equal(response.headers.location, message.links[0].url)
  })

  t.test('an unknown code on a known host is a 404 page a person can read', async (t) => {
    const { app } = await startWithMessage(t, SALE)
    for (const path of ['/AAAAAA', '/AAAAAA-1abc', '/short', '/much-too-long-for-a-code', '/', '/%F0%9F%98%80']) {
      const response = await app.inject({ url: path, headers: { host: 's.shop.dk', 'user-agent': 'x' } })
      t.equal(response.statusCode, 404, path)
      t.match(response.headers['content-type'], /^text\/html/, path)
      t.match(response.body, /This link does not work/, path)
    }
  })

  t.test('an unknown host is a 404, even for a code that exists elsewhere', async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    const path = new URL(message.recipients[0].links[0]).pathname
    const response = await app.inject({ url: path, headers: { host: 'evil.example.com' } })
    t.equal(response.statusCode, 404)
    const noHost = await app.inject({ url: path, headers: { host: '' } })
    t.equal(noHost.statusCode, 404)
  })

  t.test("a code only answers on its own tenant's host", async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    await createTenant(app, 's.other.dk', 'Other')
    const path = new URL(message.recipients[0].links[0]).pathname
    const response = await app.inject({ url: path, headers: { host: 's.other.dk' } })
    t.equal(response.statusCode, 404)
  })

  t.test('the Host header matches case-insensitively and with a port', async (t) => {
    const { app, message } = await startWithMessage(t, SALE)
    const path = new URL(message.recipients[0].links[0]).pathname
    t.equal((await app.inject({ url: path, headers: { host: 'S.SHOP.DK' } })).statusCode, 302)
    t.equal((await app.inject({ url: path, headers: { host: 's.shop.dk:443' } })).statusCode, 302)
  })

  t.test('repeated unknown codes are answered from memory', async (t) => {
    const { app } = await startWithMessage(t, SALE)
    const before = app.services.cache.misses
    for (let i = 0; i < 50; i++) await app.inject({ url: '/BBBBBB', headers: { host: 's.shop.dk' } })
    t.equal(app.services.cache.misses - before, 1, 'only the first request looked in the database')
  })

  t.test('redirects work on the punycode host of an international domain', async (t) => {
    const app = await startApp(t)
    const tenant = json(
      await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'Ø' } }),
    )
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/domains`,
      headers: admin,
      payload: { host: 's.smørrebrød.dk' },
    })
    const { key } = json(
      await app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenant.id}/api-keys`,
        headers: admin,
        payload: { name: 'k' },
      }),
    )
    const message = json(await postMessage(app, key, { links: [{ url: 'https://smørrebrød.dk/' }], recipients: ['a'] }))
    t.match(message.recipients[0].links[0], /^https:\/\/s\.xn--smrrebrd-64af\.dk\//)
    const response = await tap(app, message.recipients[0].links[0])
    t.equal(response.statusCode, 302)
    t.equal(response.headers.location, 'https://xn--smrrebrd-64af.dk/')
  })

  t.test('unknown API routes answer JSON', async (t) => {
    const app = await startApp(t)
    const response = await app.inject({ url: '/v1/nothing-here' })
    t.equal(response.statusCode, 404)
    t.match(json(response), { error: 'not_found', message: /GET \/v1\/nothing-here/ })
    const post = await app.inject({ method: 'POST', url: '/somewhere' })
    t.equal(post.statusCode, 404)
    t.equal(json(post).error, 'not_found')
  })

  t.test('GET /healthz', async (t) => {
    const app = await startApp(t)
    const response = await app.inject({ url: '/healthz' })
    t.equal(response.statusCode, 200)
    t.same(json(response), { status: 'ok' })
  })
})
