import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { PAGE_TEXTS } from '../../src/pages/texts/index.js'
import { admin, confirmUnsubscribe, json, postMessage, startWithTenant, testClock, UA } from '../helpers.js'

const SHOP = 'Barnets Verden'
const heading = (language: keyof typeof PAGE_TEXTS) =>
  `<h1>${PAGE_TEXTS[language].confirm.heading(SHOP).replace(/'/g, '&#39;')}</h1>`

/** A page as a phone asking for `acceptLanguage` gets it. */
function page(app: FastifyInstance, url: string, acceptLanguage?: string) {
  const { host, pathname } = new URL(url)
  return app.inject({
    url: pathname,
    headers: { host, 'user-agent': UA.iphoneSafari, ...(acceptLanguage ? { 'accept-language': acceptLanguage } : {}) },
  })
}

const setTenantLanguage = (app: FastifyInstance, tenantId: string, language: string | null) =>
  app.inject({ method: 'PATCH', url: `/v1/tenants/${tenantId}`, headers: admin, payload: { language } })

const setPageText = (app: FastifyInstance, tenantId: string, language: string, payload: object) =>
  app.inject({ method: 'PUT', url: `/v1/tenants/${tenantId}/page-texts/${language}`, headers: admin, payload })

t.test("a message's language is checked, stored as its canonical tag and returned", async (t) => {
  const { app, key } = await startWithTenant(t, { tenantName: SHOP })
  const base = { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a'], unsubscribe: true }

  const created = await postMessage(app, key, { ...base, language: 'zh-CN' })
  t.equal(created.statusCode, 201)
  t.equal(json(created).language, 'zh-Hans', 'an alias is stored as the canonical tag')
  const read = await app.inject({
    url: `/v1/messages/${json(created).id}`,
    headers: { authorization: `Bearer ${key}` },
  })
  t.equal(json(read).language, 'zh-Hans')
  t.equal(json(await postMessage(app, key, base)).language, null, 'left out: null')

  const refused = await postMessage(app, key, { ...base, externalId: 'fr-send', language: 'fr' })
  t.equal(refused.statusCode, 400)
  t.equal(json(refused).error, 'unsupported_language')
  for (const tag of ['da', 'de', 'en', 'nb', 'sv', 'zh-Hans', 'no', 'zh-CN']) {
    t.match(json(refused).message, tag, `the answer lists ${tag}`)
  }
  const listed = await app.inject({ url: '/v1/messages?limit=10', headers: { authorization: `Bearer ${key}` } })
  t.equal(json(listed).messages.length, 2, 'nothing stored')

  const again = await postMessage(app, key, { ...base, externalId: 'x', language: 'da' })
  t.equal(again.statusCode, 201)
  const conflict = await postMessage(app, key, { ...base, externalId: 'x', language: 'sv' })
  t.equal(conflict.statusCode, 409, 'the same externalId with another language is another send')
  t.match(json(conflict).message, 'language')
})

t.test("pages speak the message's language, else the tenant's, else the phone's, else English", async (t) => {
  const clock = testClock()
  const { app, key, tenantId } = await startWithTenant(t, { tenantName: SHOP, clock })
  const send = async (payload: object) => {
    const response = await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/sale' }],
      recipients: ['a'],
      unsubscribe: true,
      expiresAt: new Date(clock.now() + 60_000).toISOString(),
      ...payload,
    })
    t.equal(response.statusCode, 201, response.body)
    return json(response).recipients[0] as { unsubscribeUrl: string; links: string[] }
  }
  const swedish = await send({ language: 'sv' })
  const plain = await send({})

  const check = async (url: string, accept: string | undefined, expected: keyof typeof PAGE_TEXTS, name: string) => {
    const response = await page(app, url, accept)
    t.match(response.body, `<html lang="${expected}">`, `${name}: <html lang>`)
    t.equal(response.headers['content-language'], expected, `${name}: Content-Language`)
    return response
  }

  // No tenant language: the message's, else the phone's, else English.
  t.match((await check(swedish.unsubscribeUrl, 'de-DE', 'sv', 'message first')).body, heading('sv'))
  t.match((await check(plain.unsubscribeUrl, 'de-DE', 'de', 'then the phone')).body, heading('de'))
  await check(plain.unsubscribeUrl, 'fr-FR', 'en', 'then English')

  const set = await setTenantLanguage(app, tenantId, 'no')
  t.equal(set.statusCode, 200)
  t.same(json(set), { id: tenantId, name: SHOP, language: 'nb' }, 'an alias is stored as the canonical tag')
  t.match((await check(plain.unsubscribeUrl, 'de-DE', 'nb', 'the tenant before the phone')).body, heading('nb'))
  await check(swedish.unsubscribeUrl, 'de-DE', 'sv', 'the message before the tenant')

  // The confirmation speaks the same language as the page.
  const confirmed = await confirmUnsubscribe(app, plain.unsubscribeUrl, { userAgent: UA.iphoneSafari })
  t.match(confirmed.body, '<html lang="nb">')
  t.match(confirmed.body, PAGE_TEXTS.nb.unsubscribed.heading)

  // Pages without a message use the host's tenant.
  const host = new URL(plain.links[0]!).host
  await check(`https://${host}/nope12-abc`, 'de-DE', 'nb', 'not found on a tenant host')
  await check(`https://${host}/u/AAAAAA-AAAAAAA`, 'de-DE', 'nb', 'an invalid unsubscribe link')
  await check('https://unknown.example/nope12-abc', 'de-DE', 'de', 'not found on an unknown host: the phone')
  clock.advance(120_000)
  const expired = await check(plain.links[0]!, 'de-DE', 'nb', 'expired')
  t.equal(expired.statusCode, 410)
  t.match(expired.body, PAGE_TEXTS.nb.expired.heading)

  t.same(json(await setTenantLanguage(app, tenantId, null)).language, null)
  await check(`https://${host}/nope12-abc`, 'de-DE', 'de', 'cleared: the phone again')

  const bad = await setTenantLanguage(app, tenantId, 'klingon')
  t.equal(bad.statusCode, 400)
  t.equal(json(bad).error, 'unsupported_language')
  const tenants = json(await app.inject({ url: '/v1/tenants', headers: admin })).tenants
  t.equal(tenants[0].language, null, 'nothing stored')
  t.equal((await setTenantLanguage(app, 'ten_nobody', 'da')).statusCode, 404)
})

t.test("a tenant's own wording replaces the page's title and text, escaped, in its language only", async (t) => {
  const { app, key, tenantId } = await startWithTenant(t, { tenantName: SHOP })
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'], unsubscribe: true }),
  )
  const url = message.recipients[0].unsubscribeUrl

  const hostile = {
    title: '<script>alert(1)</script> Afmeld',
    text: 'Tryk <a href="https://evil.example">her</a> & "farvel"\nTak.',
  }
  const stored = await setPageText(app, tenantId, 'DA', hostile)
  t.equal(stored.statusCode, 200)
  t.same(json(stored), { language: 'da', ...hostile })

  const danish = await page(app, url, 'da-DK')
  t.notMatch(danish.body, '<script>', 'no markup of the tenant reaches the page')
  t.notMatch(danish.body, '<a href', 'no link either')
  t.match(danish.body, '<title>&lt;script&gt;alert(1)&lt;/script&gt; Afmeld</title>')
  t.match(danish.body, '<h1>&lt;script&gt;alert(1)&lt;/script&gt; Afmeld</h1>')
  t.match(danish.body, 'Tryk &lt;a href=&quot;https://evil.example&quot;&gt;her&lt;/a&gt; &amp; &quot;farvel&quot;')
  t.match(danish.body, `>${PAGE_TEXTS.da.confirm.button}</button>`, 'the button stays')
  t.notMatch(danish.body, heading('da'), 'the built-in heading is replaced')
  t.match((await page(app, url, 'sv-SE')).body, heading('sv'), 'other languages keep the built-in wording')

  const wordings = await app.inject({ url: `/v1/tenants/${tenantId}/page-texts`, headers: admin })
  t.same(json(wordings), { pageTexts: [{ language: 'da', ...hostile }] })

  const refusals: Array<[object, string, RegExp]> = [
    [{ title: ' ', text: 'x' }, 'invalid_page_text', /title must not be empty/],
    [{ title: 'x'.repeat(121), text: 'x' }, 'invalid_page_text', /title must be at most 120 characters/],
    [{ title: 'x', text: 'x'.repeat(601) }, 'invalid_page_text', /text must be at most 600 characters/],
    [{ title: 'two\nlines', text: 'x' }, 'invalid_page_text', /title must be one line/],
    [{ title: 'x', text: 'bell\u0007' }, 'invalid_page_text', /text may hold no control characters/],
    [{ title: 'x' }, 'invalid_request', /text/],
  ]
  for (const [payload, error, message] of refusals) {
    const response = await setPageText(app, tenantId, 'da', payload)
    t.equal(response.statusCode, 400, JSON.stringify(payload))
    t.equal(json(response).error, error)
    t.match(json(response).message, message)
  }
  const french = await setPageText(app, tenantId, 'fr', { title: 'x', text: 'y' })
  t.equal(json(french).error, 'unsupported_language')
  t.same(
    json(await app.inject({ url: `/v1/tenants/${tenantId}/page-texts`, headers: admin })),
    {
      pageTexts: [{ language: 'da', ...hostile }],
    },
    'nothing refused was stored',
  )

  const removed = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenantId}/page-texts/da`, headers: admin })
  t.equal(removed.statusCode, 204)
  t.match((await page(app, url, 'da-DK')).body, heading('da'), 'back to the built-in wording')
})
