import t from 'tap'
import { admin, createTenant, json, postMessage, startApp, tap, confirmUnsubscribe } from '../helpers.js'

/** Headers helmet sets by default (besides CSP), which every HTML page must carry. */
const HELMET_DEFAULTS = [
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
]

const cspOf = (header: unknown) =>
  new Map(
    String(header)
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(/\s+/)[0], d] as const),
  )

t.test('the unsubscribe pages and the 404 page carry the same security headers', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['a'], unsubscribe: true }),
  )
  const unsubscribe = new URL(message.recipients[0].unsubscribeUrl)
  const pages = {
    'unsubscribe GET': await app.inject({ url: unsubscribe.pathname, headers: { host: unsubscribe.host } }),
    'unsubscribe POST': await confirmUnsubscribe(app, unsubscribe.href),
    'unsubscribe, bad link': await app.inject({ url: '/u/AAAAAA-xyz', headers: { host: unsubscribe.host } }),
    'unknown code': await tap(app, `https://${unsubscribe.host}/zzzzzz-abc`),
    'unknown host': await app.inject({ url: '/abcdef', headers: { host: 'nobody.example' } }),
    'odd path': await app.inject({ url: '/a/b/c', headers: { host: unsubscribe.host } }),
  }
  const reference = pages['unsubscribe GET']
  for (const [name, page] of Object.entries(pages)) {
    t.match(page.headers['content-type'], /^text\/html/, name)
    for (const header of HELMET_DEFAULTS) {
      t.equal(page.headers[header], reference.headers[header], `${name}: ${header}`)
    }
    t.equal(page.headers['x-frame-options'], 'DENY', `${name}: never framed`)
    const csp = cspOf(page.headers['content-security-policy'])
    t.equal(csp.get('default-src'), "default-src 'none'", `${name}: nothing loaded`)
    t.equal(csp.get('frame-ancestors'), "frame-ancestors 'none'", name)
    t.equal(csp.get('base-uri'), "base-uri 'none'", name)
    t.notOk(page.headers['set-cookie'], `${name}: no cookie`)
    t.notMatch(page.body, /<script/i, `${name}: no script`)
  }
  t.equal(
    cspOf(reference.headers['content-security-policy']).get('form-action'),
    "form-action 'self'",
    'the button posts back to us only',
  )
})

t.test('the redirect and the JSON API get none of the page headers', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['a'] }))
  const redirect = await tap(app, message.recipients[0].links[0])
  t.equal(redirect.statusCode, 302)
  const api = await app.inject({ url: '/v1/tenants', headers: admin })
  for (const response of [redirect, api]) {
    t.notOk(response.headers['content-security-policy'])
    t.notOk(response.headers['x-frame-options'])
    t.notOk(response.headers['strict-transport-security'])
  }
})

t.test('/docs works under its own Content-Security-Policy', async (t) => {
  const app = await startApp(t)
  let page = await app.inject({ url: '/docs' })
  if (page.statusCode === 302) page = await app.inject({ url: page.headers.location as string })
  t.equal(page.statusCode, 200)
  const csp = cspOf(page.headers['content-security-policy'])
  t.equal(csp.get('script-src'), "script-src 'self'", 'scripts only from our own files')
  t.equal(csp.get('object-src'), "object-src 'none'")
  t.notOk(csp.has('upgrade-insecure-requests'), 'an http install still loads its own assets')
  // Every script the page loads is a file under /docs that answers, and none is inline.
  const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
  t.ok(scripts.length > 0)
  for (const [, attributes, inline] of scripts) {
    t.equal(inline!.trim(), '', 'no inline script (the policy would block it)')
    const src = /src="([^"]+)"/.exec(attributes!)![1]!
    const asset = await app.inject({ url: new URL(src, 'http://localhost/docs/').pathname })
    t.equal(asset.statusCode, 200, src)
  }
  const spec = await app.inject({ url: '/docs/json' })
  t.equal(spec.statusCode, 200, 'the document the page fetches (same origin: allowed by default-src)')
})
