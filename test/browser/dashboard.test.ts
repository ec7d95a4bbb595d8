import { AxeBuilder } from '@axe-core/playwright'
import { once } from 'node:events'
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { CHROMIUM, hasChromium, launchChromium } from '../fixtures/browser.js'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { bearer, createTenant, flushClicks, json, postMessage, startApp, stats, UA } from '../helpers.js'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from '../fixtures/paths.js'

/** Screenshots of every page at phone and desktop width: test artefacts, not committed (.gitignore). */
const ARTIFACTS = pathToFileURL(join(ROOT, 'test/artifacts/'))
const LOCALE = 'da-DK'
const TIME_ZONE = 'America/New_York'

if (!hasChromium()) {
  t.plan(0, `browser tests skipped: no ${CHROMIUM} (apt-get install chromium)`)
} else {
  t.setTimeout(300_000)
  run()
}

/** The service on a real port: the dashboard on 127.0.0.1 (API_HOSTS), short links on links.test (mapped to it). */
async function world(t: Test) {
  const app = await startApp(t, { env: { API_HOSTS: '127.0.0.1' } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const base = `http://127.0.0.1:${port}`
  const { key } = await createTenant(app, `links.test:${port}`, 'Shop', 'http')
  const { key: otherKey } = await createTenant(app, `other.test:${port}`, 'Other', 'http')
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  // The shop the links lead to, on a port of its own: the taps end there, not on the internet.
  const shop = createServer((_request, response) => response.end('landed')).listen(0, '127.0.0.1')
  await once(shop, 'listening')
  t.teardown(() => shop.close())
  const landing = `http://shop.test:${(shop.address() as { port: number }).port}/sale`
  return { app, base, key, otherKey, browser, landing }
}

/** A phone that follows short links. */
async function phone(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ userAgent: UA.iphoneSafari, viewport: { width: 375, height: 740 } })
  return context.newPage()
}

async function dashboard(browser: Browser, width: number): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    locale: LOCALE,
    timezoneId: TIME_ZONE,
    acceptDownloads: true,
  })
  // Nothing on a page may reach another host.
  await context.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort())
  const page = await context.newPage()
  page.on('dialog', (dialog) => {
    throw new Error(`a script ran: ${dialog.message()}`)
  })
  return { context, page }
}

async function signIn(page: Page, base: string, key: string) {
  await page.goto(`${base}/dashboard`)
  await page.fill('input[name="apiKey"]', key)
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('form.sign-in button[type="submit"]')])
}

async function noSeriousViolations(t: Test, page: Page, name: string) {
  const result = await new AxeBuilder({ page }).analyze()
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  t.same(
    serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${name}: no serious or critical accessibility violation`,
  )
}

async function screenshot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true })
}

function run() {
  t.test('the dashboard in Chromium: sign in, see taps land, download, sign out', async (t) => {
    const { app, base, key, otherKey, browser, landing } = await world(t)
    const campaign = '<script>alert(1)</script>'
    const message = json(
      await postMessage(app, key, {
        campaign,
        variant: 'A',
        links: [{ url: landing }],
        recipients: ['r1', 'r2', 'r3', 'r4', 'r5'],
      }),
    )
    const theirs = json(await postMessage(app, otherKey, { links: [{ url: landing }], recipients: ['x'] }))

    // Real taps: a phone browser follows three recipients' links, one of them twice.
    const tapper = await phone(browser)
    for (const recipient of [0, 1, 2, 0]) {
      const response = await tapper.goto(message.recipients[recipient].links[0])
      t.equal(await response?.text(), 'landed', 'the tap landed on the destination')
    }
    await flushClicks(app)
    const expected = await stats(app, key, message.id)
    t.same([expected.clicks.total, expected.clicks.unique], [4, 3], 'sanity: the taps were counted')

    for (const width of [375, 1280]) {
      const { context, page } = await dashboard(browser, width)
      await signIn(page, base, key)
      const cookies = await context.cookies()
      const session = cookies.find((c) => c.name === 'smslinks_session')!
      t.ok(session.httpOnly && session.sameSite === 'Strict' && session.path === '/dashboard', 'the session cookie')
      t.notOk(JSON.stringify(cookies).includes(key), 'the key is in no cookie')

      await page.waitForSelector('table.list')
      t.notOk((await page.content()).includes(key), 'nor on the page')
      await noSeriousViolations(t, page, `messages at ${width}px`)
      await screenshot(page, `messages-${width}`)

      await page.click(`a[href="/dashboard/messages/${message.id}"]`)
      await page.waitForSelector('[data-chart="clicks-over-time"] canvas')
      await page.click('[data-refresh-toggle]')
      const shown = await page.$$eval('[data-metric]', (els) =>
        els.map((el) => [el.getAttribute('data-metric'), el.getAttribute('data-value'), el.textContent]),
      )
      const count = new Intl.NumberFormat(LOCALE)
      const percent = new Intl.NumberFormat(LOCALE, { style: 'percent', maximumFractionDigits: 2 })
      const api: Record<string, number | null> = {
        recipients: expected.recipients,
        delivered: expected.delivered,
        unique: expected.clicks.unique,
        ctr: expected.ctr,
        clicks: expected.clicks.total,
        bots: expected.clicks.bots,
        previews: expected.clicks.previews,
        unsubscribeRate: expected.unsubscribeRate,
      }
      t.same(
        Object.fromEntries(shown.map(([metric, value]) => [metric, value === '' ? null : Number(value)])),
        api,
        "every headline number is the API's",
      )
      for (const [metric, value, text] of shown) {
        const number = api[metric!]
        const formatted =
          number === null
            ? '—'
            : metric === 'ctr' || metric === 'unsubscribeRate'
              ? percent.format(number!)
              : count.format(number!)
        t.equal(text, formatted, `${metric} is shown for ${LOCALE}`)
        void value
      }
      t.equal(
        await page.textContent('[data-metric="ctr"]'),
        '60\u00a0%',
        'CTR 3 of 5, in Danish (a no-break space before %)',
      )

      const drawn = await page.$eval('[data-chart="clicks-over-time"] canvas', (canvas) => {
        const c = canvas as HTMLCanvasElement
        const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
        let painted = 0
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted++
        return { width: c.width, painted }
      })
      t.ok(drawn.width > 0 && drawn.painted > 500, `the chart is drawn (${drawn.painted} pixels)`)

      const local = await page.textContent('main time')
      await page.click('[data-time-zone-switch]')
      const utc = await page.textContent('main time')
      t.not(local, utc, 'the switch shows times in UTC')
      const created = new Date(message.createdAt)
      const utcText = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })
      t.equal(utc, utcText.format(created))
      const localText = new Intl.DateTimeFormat(LOCALE, {
        dateStyle: 'medium',
        timeStyle: 'short',
        timeZone: TIME_ZONE,
      })
      t.equal(local, localText.format(created), 'first in the viewer’s own zone')
      await page.click('[data-time-zone-switch]')

      await noSeriousViolations(t, page, `message at ${width}px`)
      await screenshot(page, `message-${width}`)

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href$="/clicks.csv"]')])
      t.equal(download.suggestedFilename(), `${message.id}-clicks.csv`)
      const csv = readFileSync((await download.path())!, 'utf8')
        .trimEnd()
        .split('\r\n')
      t.equal(csv[0], 'at,link,recipient,class,reason,device,os,browser')
      t.equal(csv.length, 1 + 4, 'one line per tap')
      t.match(csv[1], /,r1,human,,mobile,iOS,Mobile Safari$/)

      const campaignResponse = await page.goto(`${base}/dashboard/campaigns/${encodeURIComponent(campaign)}`)
      t.equal(campaignResponse?.status(), 200)
      t.equal(
        (await page.textContent('h1'))?.trim().replace(/\s+/g, ' '),
        `Campaign ${campaign}`,
        'the name shows as text',
      )
      await noSeriousViolations(t, page, `campaign at ${width}px`)
      await screenshot(page, `campaign-${width}`)

      await page.goto(`${base}/dashboard/overview`)
      await noSeriousViolations(t, page, `overview at ${width}px`)
      await screenshot(page, `overview-${width}`)

      const foreign = await page.goto(`${base}/dashboard/messages/${theirs.id}`)
      t.equal(foreign?.status(), 404, "another tenant's message is a 404")
      await noSeriousViolations(t, page, `not found at ${width}px`)

      await page.goto(`${base}/dashboard`)
      await Promise.all([page.waitForURL(`${base}/dashboard/sign-in`), page.click('form.sign-out button')])
      t.notOk(
        (await context.cookies()).some((c) => c.name === 'smslinks_session'),
        'sign-out removes the cookie',
      )
      await noSeriousViolations(t, page, `sign-in at ${width}px`)
      await screenshot(page, `sign-in-${width}`)
      const after = await page.goto(`${base}/dashboard/messages/${message.id}`)
      t.match(after?.url(), /\/dashboard\/sign-in\?next=/, 'after sign-out, pages ask to sign in again')
      t.equal(
        (await app.inject({ url: `/v1/messages/${message.id}/stats`, headers: bearer(key) })).statusCode,
        200,
        'the API key itself still works',
      )
      await context.close()
    }
  })
}
