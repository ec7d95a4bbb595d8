import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { admin, confirmUnsubscribe, createTenant, json, postMessage, startApp, tap, UA } from '../helpers.js'

const NOINDEX = 'noindex, nofollow'

t.test('every answer to a short link says noindex, nofollow', async (t) => {
  const app = await startApp(t)
  const { key, tenantId, host } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a', 'b'] }),
  )
  const [a, b] = message.recipients.map((r: { links: string[] }) => r.links[0] as string)
  const expiring = json(
    await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/gone' }],
      recipients: ['c', 'd'],
      expiresAt: new Date(Date.now() + 1000).toISOString(),
    }),
  )
  const answers: Record<string, Awaited<ReturnType<typeof tap>>> = {
    'recipient link, 302': await tap(app, a),
    'HEAD, 302': await tap(app, b, { method: 'HEAD' }),
    'a preview fetch, 302': await tap(app, a, { userAgent: UA.whatsapp }),
    'bare code, 302': await tap(app, `https://${host}/${message.links[0].code}`),
    'unknown code, 404': await tap(app, `https://${host}/zzzzzz-abc`),
    'not a code, 404': await tap(app, `https://${host}/not-a-code`),
    'unknown host, 404': await tap(app, `https://nobody.example/${message.links[0].code}`),
  }
  while (Date.now() <= Date.parse(expiring.expiresAt)) await sleep(50)
  answers['expired, 410'] = await tap(app, expiring.recipients[0].links[0])
  await app.inject({
    method: 'PATCH',
    url: `/v1/tenants/${tenantId}/domains/${host}`,
    headers: admin,
    payload: { fallbackUrl: 'https://shop.dk/' },
  })
  answers['expired with a fallback, 302'] = await tap(app, expiring.recipients[1].links[0])

  for (const [name, response] of Object.entries(answers)) {
    t.equal(response.statusCode, Number(/\d{3}$/.exec(name)![0]), name)
    t.equal(response.headers['x-robots-tag'], NOINDEX, name)
  }
})

t.test('every unsubscribe page says noindex, nofollow', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['a'], unsubscribe: true }),
  )
  const url = new URL(message.recipients[0].unsubscribeUrl)
  const pages = {
    'the page': await app.inject({ url: url.pathname, headers: { host: url.host } }),
    'a POST without the button': await confirmUnsubscribe(app, url.href, { form: 'x=1' }),
    'the confirmation': await confirmUnsubscribe(app, url.href),
    'a bad link': await app.inject({ url: '/u/AAAAAA-xyz', headers: { host: url.host } }),
  }
  for (const [name, page] of Object.entries(pages)) {
    t.match(page.headers['content-type'], /^text\/html/, name)
    t.equal(page.headers['x-robots-tag'], NOINDEX, name)
  }
})

t.test('/robots.txt disallows all crawling, on every host', async (t) => {
  const app = await startApp(t)
  await createTenant(app, 's.shop.dk')
  for (const host of ['s.shop.dk', 'S.SHOP.DK:443', 'localhost', 'nobody.example']) {
    const response = await app.inject({ url: '/robots.txt', headers: { host } })
    t.equal(response.statusCode, 200, host)
    t.match(response.headers['content-type'], /^text\/plain/, host)
    t.equal(response.body, 'User-agent: *\nDisallow: /\n', host)
  }
  const head = await app.inject({ method: 'HEAD', url: '/robots.txt', headers: { host: 's.shop.dk' } })
  t.equal(head.statusCode, 200)
})
