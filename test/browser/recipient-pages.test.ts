import { AxeBuilder } from '@axe-core/playwright'
import { CHROMIUM, hasChromium, launchChromium } from '../fixtures/browser.js'
import t from 'tap'
import { PAGE_TEXTS } from '../../src/pages/texts/index.js'
import { admin, createTenant, json, postMessage, startApp, UA } from '../helpers.js'

const SHOP = 'Barnets Verden'

/** Phone locales (Chromium sends them as Accept-Language) and the page language each must get. */
const PHONES: Array<[string, keyof typeof PAGE_TEXTS]> = [
  ['da-DK', 'da'],
  ['sv-SE', 'sv'],
  ['nb-NO', 'nb'],
  ['de-DE', 'de'],
  ['zh-CN', 'zh-Hans'],
  ['en-GB', 'en'],
  ['fr-FR', 'en'],
]

if (!hasChromium()) {
  t.plan(0, `browser tests skipped: no ${CHROMIUM} (apt-get install chromium)`)
} else {
  t.setTimeout(300_000)
  t.test('each recipient page in each language, on a phone, with its lang and no English left', async (t) => {
    const app = await startApp(t)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as { port: number }).port
    const { key } = await createTenant(app, `links.test:${port}`, SHOP, 'http')
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const english = [
      PAGE_TEXTS.en.confirm.heading(SHOP),
      PAGE_TEXTS.en.unsubscribed.heading,
      PAGE_TEXTS.en.notFound.heading,
    ]

    for (const [locale, language] of PHONES) {
      const texts = PAGE_TEXTS[language]
      const message = json(
        await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: [locale], unsubscribe: true }),
      )
      const context = await browser.newContext({
        userAgent: UA.iphoneSafari,
        viewport: { width: 375, height: 740 },
        locale,
      })
      const page = await context.newPage()

      await page.goto(message.recipients[0].unsubscribeUrl)
      t.equal(await page.getAttribute('html', 'lang'), language, `${locale}: the confirmation page's lang`)
      t.equal(await page.textContent('h1'), texts.confirm.heading(SHOP), `${locale}: asks in its language`)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= 375, `${locale}: fits a phone (${width} px)`)
      const axe = await new AxeBuilder({ page }).analyze()
      t.same(
        axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
        [],
        `${locale}: no serious accessibility violation`,
      )

      await page.click('button[type="submit"]')
      await page.waitForSelector(`h1:text("${texts.unsubscribed.heading}")`)
      t.equal(await page.getAttribute('html', 'lang'), language, `${locale}: the confirmed page's lang`)

      await page.goto(`http://links.test:${port}/nope12-abc`)
      t.equal(await page.getAttribute('html', 'lang'), language, `${locale}: the 404 page's lang`)
      t.equal(await page.textContent('h1'), texts.notFound.heading, `${locale}: 404 in its language`)

      if (language !== 'en') {
        const seen = await page.evaluate(() => document.body.innerText)
        t.notOk(
          english.some((text) => seen.includes(text)),
          `${locale}: no English heading on the 404 page`,
        )
      }
      await context.close()
    }
  })

  t.test("the message's language over the phone's, and a tenant's hostile wording shown as text", async (t) => {
    const app = await startApp(t)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = (app.server.address() as { port: number }).port
    const { key, tenantId } = await createTenant(app, `links.test:${port}`, SHOP, 'http')
    const wording = {
      title: '<img src=x onerror="document.title=1">Afmeld',
      text: `<script>document.body.dataset.owned = "yes"</script> ${'Tryk på knappen for at afmelde. '.repeat(12)}`,
    }
    const stored = await app.inject({
      method: 'PUT',
      url: `/v1/tenants/${tenantId}/page-texts/da`,
      headers: admin,
      payload: wording,
    })
    t.equal(stored.statusCode, 200)
    const message = json(
      await postMessage(app, key, {
        links: [{ url: 'https://shop.dk/x' }],
        recipients: ['a'],
        unsubscribe: true,
        language: 'da',
      }),
    )
    const browser = await launchChromium()
    t.teardown(() => browser.close())
    const context = await browser.newContext({
      userAgent: UA.iphoneSafari,
      viewport: { width: 375, height: 740 },
      locale: 'en-GB',
    })
    const page = await context.newPage()
    await page.goto(message.recipients[0].unsubscribeUrl)
    t.equal(await page.getAttribute('html', 'lang'), 'da', "an English phone gets the message's Danish")
    t.equal(await page.textContent('h1'), wording.title, 'the title, markup and all, is text')
    t.equal((await page.textContent('p'))?.trim(), wording.text.trim(), 'so is the text')
    t.equal(await page.locator('img, script').count(), 0, 'no element of the wording was made')
    t.equal(await page.evaluate(() => document.body.dataset.owned ?? null), null, 'no script of the wording ran')
    t.equal(await page.textContent('button'), PAGE_TEXTS.da.confirm.button, 'the button keeps its wording')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    t.ok(width <= 375, `a long wording still fits a phone (${width} px)`)
    await context.close()
  })
}
