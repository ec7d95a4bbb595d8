import t from 'tap'
import { PAGE_LANGUAGES, choosePageLanguage, fromAcceptLanguage, pageLanguage } from '../../src/pages/languages.js'
import { PAGE_TEXTS, type PageTexts } from '../../src/pages/texts/index.js'
import { startWithMessage, UA } from '../helpers.js'

const SHOP = 'Barnets Verden'

/** Every string of a catalogue, with the sender's name filled in. */
function strings(texts: PageTexts): string[] {
  return Object.values(texts).flatMap((group) =>
    Object.values(group as Record<string, string | ((name: string) => string)>).map((value) =>
      typeof value === 'function' ? value(SHOP) : value,
    ),
  )
}

/** The text a person reads: tags dropped, entities decoded. */
const visible = (html: string) =>
  html
    .replace(/<style>.*?<\/style>/s, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')

t.test('every catalogue has every text, and none of them is left in English', async (t) => {
  const english = strings(PAGE_TEXTS.en)
  for (const language of PAGE_LANGUAGES) {
    const texts = strings(PAGE_TEXTS[language])
    t.equal(texts.length, english.length, `${language}: as many texts as English`)
    t.ok(
      texts.every((text) => text.trim().length > 0),
      `${language}: none empty`,
    )
    if (language !== 'en') {
      t.same(
        texts.filter((text) => english.includes(text)),
        [],
        `${language}: no text is the English one`,
      )
    }
  }
})

t.test('the language is the message’s, else the tenant’s, else the phone’s, else English', async (t) => {
  t.equal(choosePageLanguage('da', 'sv', 'de'), 'da')
  t.equal(choosePageLanguage(null, 'sv', 'de'), 'sv')
  t.equal(choosePageLanguage(null, null, 'de-AT,de;q=0.9'), 'de')
  t.equal(choosePageLanguage(null, null, 'fr-FR,fr;q=0.9'), 'en')
  t.equal(choosePageLanguage(null, null, undefined), 'en')
  t.equal(fromAcceptLanguage('fr;q=1, nb-NO;q=0.8, en;q=0.5'), 'nb', 'the first one we have, by quality')
  t.equal(fromAcceptLanguage('no'), 'nb', 'Norwegian without a written standard is bokmål')
  t.equal(fromAcceptLanguage('zh-CN,zh;q=0.9'), 'zh-Hans')
  t.equal(fromAcceptLanguage('da-DK'), 'da', 'a region of a language we have')
  t.equal(fromAcceptLanguage('*'), 'en', 'any language: English')
  t.equal(fromAcceptLanguage('fr, *;q=0.5'), 'en')
  t.equal(pageLanguage('ZH-hans'), 'zh-Hans')
  t.equal(pageLanguage('fr'), null)
})

t.test('the pages a recipient sees come in the language the phone asks for', async (t) => {
  const { app, message } = await startWithMessage(
    t,
    { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a'], unsubscribe: true },
    { tenantName: SHOP },
  )
  const unsubscribe = new URL(message.recipients[0].unsubscribeUrl)
  const short = new URL(message.recipients[0].links[0])
  const cases: Array<[string, string | undefined, string]> = [
    ['da', 'da-DK,da;q=0.9,en;q=0.8', 'da'],
    ['sv', 'sv-SE', 'sv'],
    ['nb', 'nb-NO,no;q=0.9', 'nb'],
    ['de', 'de-DE,de;q=0.9', 'de'],
    ['zh-Hans', 'zh-CN,zh;q=0.9', 'zh-Hans'],
    ['en', 'en-GB', 'en'],
    ['en', 'fr-FR', 'en'],
    ['en', undefined, 'en'],
  ]
  for (const [language, acceptLanguage, expected] of cases) {
    const texts = PAGE_TEXTS[expected as keyof typeof PAGE_TEXTS]
    const headers = (host: string) => ({
      host,
      'user-agent': UA.iphoneSafari,
      ...(acceptLanguage ? { 'accept-language': acceptLanguage } : {}),
    })
    const pages = {
      confirm: await app.inject({ url: unsubscribe.pathname, headers: headers(unsubscribe.host) }),
      invalid: await app.inject({ url: '/u/AAAAAA-AAAAAAA', headers: headers(unsubscribe.host) }),
      notFound: await app.inject({ url: '/nope12-abc', headers: headers(short.host) }),
    }
    t.match(
      pages.confirm.body,
      `<h1>${texts.confirm.heading(SHOP).replace(/'/g, '&#39;')}</h1>`,
      `${language}: confirm`,
    )
    t.match(pages.invalid.body, `<h1>${texts.invalidLink.heading}</h1>`, `${language}: invalid link`)
    t.match(pages.notFound.body, `<h1>${texts.notFound.heading}</h1>`, `${language}: not found`)
    for (const [name, page] of Object.entries(pages)) {
      t.match(page.body, `<html lang="${expected}">`, `${language} ${name}: <html lang>`)
      t.equal(page.headers['content-language'], expected, `${language} ${name}: Content-Language`)
      if (expected !== 'en') {
        const english = strings(PAGE_TEXTS.en).filter((text) => visible(page.body).includes(text))
        t.same(english, [], `${language} ${name}: no English text`)
      }
    }
  }
})
