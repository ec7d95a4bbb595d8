import t from 'tap'
import { createTenant, json, postMessage, startApp } from '../helpers.js'

/** The destinations a text yields, and the first recipient's rewritten text. */
async function linksOf(t: Parameters<typeof startApp>[0], text: string) {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const response = await postMessage(app, key, { text, recipients: ['a'] })
  t.equal(response.statusCode, 201, text)
  const message = json(response)
  return {
    urls: message.links.map((link: { url: string }) => link.url) as string[],
    text: message.recipients[0].text as string,
    links: message.recipients[0].links as string[],
  }
}

t.test('punctuation after a URL stays in the text', async (t) => {
  const found = await linksOf(t, 'Se shop.dk/x. Eller (shop.dk/y), "shop.dk/z"! Sidste: shop.dk/w… Ja: shop.dk/v?')
  t.same(found.urls, [
    'https://shop.dk/x',
    'https://shop.dk/y',
    'https://shop.dk/z',
    'https://shop.dk/w',
    'https://shop.dk/v',
  ])
  const [x, y, z, w, v] = found.links
  t.equal(found.text, `Se ${x}. Eller (${y}), "${z}"! Sidste: ${w}… Ja: ${v}?`)
})

t.test('a query string is part of the URL, and a trailing full stop is not', async (t) => {
  const found = await linksOf(t, 'Køb her: https://shop.dk/sale?c=sms&x=1.')
  t.same(found.urls, ['https://shop.dk/sale?c=sms&x=1'])
  t.equal(found.text, `Køb her: ${found.links[0]}.`)
})

t.test('e-mail addresses, ordinary words and missing spaces are not links', async (t) => {
  const found = await linksOf(
    t,
    'Skriv til info@shop.dk. Slutter snart.No kode. Ring kl.10, f.eks. i morgen, bl.a. os. Se shop.dk/x',
  )
  t.same(found.urls, ['https://shop.dk/x'], 'only the real link')
  t.match(
    found.text,
    /^Skriv til info@shop\.dk\. Slutter snart\.No kode\. Ring kl\.10, f\.eks\. i morgen, bl\.a\. os\. Se https:/,
  )
})

t.test('only http(s) links: no ftp, no protocol-relative, no mailto', async (t) => {
  const found = await linksOf(t, 'ftp://files.shop.dk/x //cdn.shop.dk/y mailto:info@shop.dk https://shop.dk/z')
  t.same(found.urls, ['https://shop.dk/z'])
})

t.test('http:// is kept; hosts are normalised like links', async (t) => {
  const found = await linksOf(t, 'A: http://shop.dk/a B: SHOP.DK/B C: smørrebrød.dk/c D: www.shop.dk')
  t.same(found.urls, [
    'http://shop.dk/a',
    'https://shop.dk/B',
    'https://xn--smrrebrd-64af.dk/c',
    'https://www.shop.dk/',
  ])
})

t.test('a URL right before {unsubscribe} does not swallow it', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const response = await postMessage(app, key, { text: 'Se shop.dk/x{unsubscribe}', recipients: ['a'] })
  t.equal(response.statusCode, 201)
  const message = json(response)
  t.same(
    message.links.map((l: { url: string }) => l.url),
    ['https://shop.dk/x'],
    'the placeholder was not taken into the URL',
  )
  const [recipient] = message.recipients
  t.equal(recipient.text, `Se ${recipient.links[0]}${recipient.unsubscribeUrl}`)
})

t.test('the rewriter already fills {unsubscribe} when given an unsubscribe link (the extension point)', async (t) => {
  const { parseMessageText, textRewriter } = await import('../../src/messages/message-text.js')
  const parsed = parseMessageText('Se shop.dk/x{unsubscribe} eller shop.dk/x. Stop: {unsubscribe}', 10)
  t.same(parsed.urls, ['https://shop.dk/x'])
  t.equal(parsed.hasUnsubscribe, true)
  const rewrite = textRewriter(
    parsed.text,
    ['https://s.shop.dk/AbCdEf-'],
    ({ index, token }) => `https://s.shop.dk/u/${index}-${token}`,
  )
  t.equal(
    rewrite({ index: 7, token: '7xyz' }),
    'Se https://s.shop.dk/AbCdEf-7xyzhttps://s.shop.dk/u/7-7xyz eller https://s.shop.dk/AbCdEf-7xyz. Stop: https://s.shop.dk/u/7-7xyz',
  )
  t.throws(
    () => textRewriter(parsed.text, ['https://s.shop.dk/AbCdEf-']),
    /unsubscribe/,
    'without one it is a bug, never a silent gap',
  )
})
