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

t.test('URLs touching Chinese, Japanese and Korean text end at the first CJK character or mark', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const cases: Array<[string, string[], (links: string[]) => string]> = [
    [
      '限时优惠！点击https://shop.cn/sale查看详情，回T退订',
      ['https://shop.cn/sale'],
      ([a]) => `限时优惠！点击${a}查看详情，回T退订`,
    ],
    ['详情见shop.cn/x。谢谢', ['https://shop.cn/x'], ([a]) => `详情见${a}。谢谢`],
    [
      '新品上架：https://shop.cn/a?c=1，老客户（https://shop.cn/b）专享！',
      ['https://shop.cn/a?c=1', 'https://shop.cn/b'],
      ([a, b]) => `新品上架：${a}，老客户（${b}）专享！`,
    ],
    ['セール開催中https://shop.jp/sale「今すぐ」', ['https://shop.jp/sale'], ([a]) => `セール開催中${a}「今すぐ」`],
    ['할인https://shop.kr/s에서 확인하세요', ['https://shop.kr/s'], ([a]) => `할인${a}에서 확인하세요`],
    [
      '訂單已發貨：https://shop.tw/t/123？如有問題請致電',
      ['https://shop.tw/t/123'],
      ([a]) => `訂單已發貨：${a}？如有問題請致電`,
    ],
  ]
  for (const [text, urls, rewritten] of cases) {
    const response = await postMessage(app, key, { text, recipients: ['a'] })
    t.equal(response.statusCode, 201, text)
    const message = json(response)
    t.same(
      message.links.map((link: { url: string }) => link.url),
      urls,
      text,
    )
    t.equal(message.recipients[0].text, rewritten(message.recipients[0].links), `${text}: rewritten in place`)
    t.equal(message.recipients[0].segments.encoding, 'UCS-2', `${text}: counted as UCS-2`)
  }
})

t.test('in CJK texts, e-mail addresses, phone numbers, times and decimals stay text', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const response = await postMessage(app, key, {
    text: '联系service@shop.cn或致电400-123-4567，营业时间9:30至18:00，价格¥99.50起。详情https://shop.cn/p',
    recipients: ['a'],
  })
  t.equal(response.statusCode, 201)
  const message = json(response)
  t.same(
    message.links.map((link: { url: string }) => link.url),
    ['https://shop.cn/p'],
  )
  t.match(
    message.recipients[0].text,
    /^联系service@shop\.cn或致电400-123-4567，营业时间9:30至18:00，价格¥99\.50起。详情https?:/,
  )
})
