import t from 'tap'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  metrics,
  OWN_HOST,
  postMessage,
  signIn,
  startWithTenant,
  stats,
  tap,
  testClock,
  UA,
  withEachBackend,
} from '../helpers.js'

const open = (app: Awaited<ReturnType<typeof startWithTenant>>['app'], url: string, cookie: string) =>
  app.inject({ url, headers: { host: OWN_HOST, cookie } })

withEachBackend(t, (t) => {
  t.test("a message's page shows the figures its stats show", async (t) => {
    const { app, key } = await startWithTenant(t)
    const message = json(
      await postMessage(app, key, {
        campaign: 'spring',
        links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }],
        recipients: ['r1', 'r2', 'r3', 'r4'],
        unsubscribe: true,
      }),
    )
    const [r1, r2] = message.recipients
    await tap(app, r1.links[0])
    await tap(app, r1.links[1])
    await tap(app, r2.links[0], { userAgent: UA.androidChrome })
    await tap(app, r2.links[0], { userAgent: UA.whatsapp })
    await tap(app, r2.links[0], { userAgent: 'curl/8.5.0' })
    await app.inject({
      method: 'POST',
      url: `/v1/messages/${message.id}/deliveries`,
      headers: bearer(key),
      payload: {
        reports: [
          { recipient: 'r1', status: 'delivered' },
          { recipient: 'r2', status: 'delivered' },
          { recipient: 'r3', status: 'failed' },
        ],
      },
    })
    const expected = await stats(app, key, message.id)
    const cookie = await signIn(app, key)
    const page = await open(app, `/dashboard/messages/${message.id}`, cookie)
    t.equal(page.statusCode, 200)
    t.same(metrics(page.body), {
      recipients: String(expected.recipients),
      delivered: String(expected.delivered),
      unique: String(expected.clicks.unique),
      ctr: String(expected.ctr),
      clicks: String(expected.clicks.total),
      bots: String(expected.clicks.bots),
      previews: String(expected.clicks.previews),
      unsubscribeRate: String(expected.unsubscribeRate),
    })
    t.same(
      [expected.recipients, expected.delivered, expected.clicks.unique, expected.clicks.total],
      [4, 2, 2, 3],
      'sanity',
    )
    t.match(page.body, /data-chart="clicks-over-time"/)
    const totals = JSON.parse(/data-totals="([^"]*)"/.exec(page.body)![1]!.replace(/&quot;/g, '"'))
    t.equal(totals.at(-1), 3, 'the chart ends at the human clicks so far')
    t.match(page.body, /bot_user_agent/, 'reasons shown')
    t.match(page.body, /Mobile Safari/, 'browsers shown')
    t.match(page.body, /https:\/\/shop\.dk\/b/, 'links shown')
    t.match(page.body, /data-refresh-until=/, 'a young message refreshes itself')
  })

  t.test('clicks over time: minutes in the first hour, then hours, read from counters', async (t) => {
    const clock = testClock(Date.UTC(2026, 0, 5, 9, 0, 0))
    const { app, key } = await startWithTenant(t, { clock })
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['a', 'b', 'c'] }),
    )
    const links = message.recipients.map((r: any) => r.links[0])
    clock.advance(30_000)
    await tap(app, links[0])
    await tap(app, links[1], { address: '198.51.100.1' })
    clock.advance(120_000)
    await tap(app, links[2], { address: '198.51.100.2' })
    await flushClicks(app)
    clock.advance(3 * 3_600_000)
    await tap(app, links[0])
    await flushClicks(app)
    const cookie = await signIn(app, key)
    const page = await open(app, `/dashboard/messages/${message.id}`, cookie)
    const attribute = (name: string) =>
      JSON.parse(new RegExp(`${name}="([^"]*)"`).exec(page.body)![1]!.replace(/&quot;/g, '"'))
    const created = Date.parse(message.createdAt)
    t.same(
      attribute('data-times').map((at: number) => (at - created) / 60_000),
      [0, 1, 3, 182.5],
      'ends of minute 0 and minute 2, then now (hour 3 is not over yet)',
    )
    t.same(attribute('data-totals'), [0, 2, 3, 4])
    t.notMatch(page.body, /data-refresh-until=/, 'an older message does not refresh itself')
    t.match(
      page.body,
      /Within[\s\S]*1 minute of sending[\s\S]*data-value="0.6667"/,
      'two of three clickers within a minute',
    )
  })

  t.test("another tenant's message or campaign is a 404, as if it did not exist", async (t) => {
    const { app, key } = await startWithTenant(t)
    const other = await createTenant(app, 's.other.dk', 'Other')
    const theirs = json(
      await postMessage(app, other.key, { campaign: 'secret', links: [{ url: 'https://o.dk/' }], recipients: ['x'] }),
    )
    const cookie = await signIn(app, key)
    for (const url of [
      `/dashboard/messages/${theirs.id}`,
      `/dashboard/messages/${theirs.id}/clicks.csv`,
      '/dashboard/campaigns/secret',
      '/dashboard/messages/msg_doesNotExist0000',
    ]) {
      const response = await open(app, url, cookie)
      t.equal(response.statusCode, 404, url)
      t.match(response.headers['content-type'], /text\/html/)
      t.notMatch(response.body, /o\.dk/)
    }
    const list = await open(app, '/dashboard?campaign=secret', cookie)
    t.match(list.body, /No messages match/)
  })

  t.test('values from the database are escaped: a campaign named <script> shows as text', async (t) => {
    const { app, key } = await startWithTenant(t)
    const name = '<script>alert(1)</script>'
    const message = json(
      await postMessage(app, key, {
        campaign: name,
        variant: '"><img src=x onerror=alert(2)>',
        externalId: "it's <b>bold</b>",
        links: [{ url: 'https://shop.dk/?q=<i>' }],
        recipients: ['a'],
      }),
    )
    const cookie = await signIn(app, key)
    for (const url of [
      '/dashboard',
      `/dashboard/messages/${message.id}`,
      `/dashboard/campaigns/${encodeURIComponent(name)}`,
    ]) {
      const response = await open(app, url, cookie)
      t.equal(response.statusCode, 200, url)
      t.notOk(response.body.includes(name), `${url}: the name is not markup`)
      t.ok(response.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `${url}: it is text`)
      t.notOk(response.body.includes('<img'), `${url}: the variant is not markup`)
      t.notOk(response.body.includes('<b>'), `${url}: nor the external id`)
    }
  })

  t.test('the messages list filters by campaign, kind and period, and pages newest first', async (t) => {
    const clock = testClock(Date.UTC(2026, 0, 1))
    const { app, key } = await startWithTenant(t, { clock })
    const ids: string[] = []
    for (let i = 0; i < 30; i++) {
      const payload = {
        externalId: `send-${i}`,
        kind: i % 3 === 0 ? 'flow' : 'campaign',
        campaign: i % 2 === 0 ? 'even' : 'odd',
        links: [{ url: 'https://shop.dk/' }],
        recipients: ['a'],
      }
      ids.push(json(await postMessage(app, key, payload)).id)
      clock.advance(86_400_000)
    }
    const cookie = await signIn(app, key)
    const shown = (body: string) => [...body.matchAll(/>send-(\d+)</g)].map((m) => Number(m[1]))

    const first = await open(app, '/dashboard', cookie)
    t.same(
      shown(first.body),
      [...Array(25).keys()].map((i) => 29 - i),
      'the newest 25, newest first',
    )
    const next = /href="([^"]+)" rel="next"/.exec(first.body)![1]!.replace(/&amp;/g, '&')
    const second = await open(app, next, cookie)
    t.same(shown(second.body), [4, 3, 2, 1, 0])
    t.notMatch(second.body, /rel="next"/, 'the last page')

    const flows = await open(app, '/dashboard?kind=flow&campaign=even', cookie)
    t.same(shown(flows.body), [24, 18, 12, 6, 0])
    const recent = await open(app, '/dashboard?period=7d&kind=', cookie)
    t.same(shown(recent.body), [29, 28, 27, 26, 25, 24, 23], 'created in the last 7 days')
    const filteredNext = await open(app, '/dashboard?campaign=odd', cookie)
    t.same(shown(filteredNext.body), [29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1])

    for (const bad of ['/dashboard?kind=sms', '/dashboard?period=forever', '/dashboard?before=zzz', '/dashboard?x=1']) {
      const response = await open(app, bad, cookie)
      t.equal(response.statusCode, 400, bad)
      t.match(response.headers['content-type'], /text\/html/)
    }
  })

  t.test('the CSV download holds the same clicks as the export', async (t) => {
    const { app, key } = await startWithTenant(t)
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }], recipients: ['=cmd|x', 'b,c'] }),
    )
    await tap(app, message.recipients[0].links[0])
    await tap(app, message.recipients[1].links[0], { userAgent: UA.whatsapp })
    await flushClicks(app)
    const exported = json(await app.inject({ url: `/v1/messages/${message.id}/clicks`, headers: bearer(key) })).clicks
    const cookie = await signIn(app, key)
    const csv = await open(app, `/dashboard/messages/${message.id}/clicks.csv`, cookie)
    t.equal(csv.statusCode, 200)
    t.match(csv.headers['content-type'], /^text\/csv/)
    t.match(csv.headers['content-disposition'], new RegExp(`attachment; filename="${message.id}-clicks.csv"`))
    const lines = csv.body.trimEnd().split('\r\n')
    t.equal(lines[0], 'at,link,recipient,class,reason,device,os,browser')
    t.equal(lines.length, 1 + exported.length)
    t.equal(
      lines[1],
      `${exported[0].at},${exported[0].link},'=cmd|x,human,,mobile,iOS,Mobile Safari`,
      'a formula is defused',
    )
    const { at, link, device, os, browser } = exported[1]
    t.equal(lines[2], `${at},${link},"b,c",preview,preview_user_agent,${device},${os},${browser}`)
  })

  t.test('the campaign page shows the roll-up, the variants and the verdict; the overview the kinds', async (t) => {
    const { app, key } = await startWithTenant(t)
    for (const variant of ['A', 'B']) {
      const message = json(
        await postMessage(app, key, {
          campaign: 'sale',
          variant,
          links: [{ url: 'https://shop.dk/' }],
          recipients: ['a', 'b', 'c', 'd'],
        }),
      )
      for (const r of message.recipients.slice(0, variant === 'A' ? 1 : 3)) await tap(app, r.links[0])
    }
    await flushClicks(app)
    const rollUp = json(await app.inject({ url: '/v1/campaigns/sale/stats', headers: bearer(key) }))
    const variants = json(await app.inject({ url: '/v1/campaigns/sale/variants', headers: bearer(key) }))
    const cookie = await signIn(app, key)
    const page = await open(app, '/dashboard/campaigns/sale', cookie)
    t.equal(page.statusCode, 200)
    t.match(page.body, new RegExp(`data-value="${rollUp.ctr}"`), 'the CTR of the roll-up')
    t.match(page.body, /Not significant yet/, 'four recipients each cannot decide')
    t.match(
      page.body,
      /<span data-needed><span[^>]*data-value="15"/,
      'CTRs of 25 % and 75 % need 15 recipients per variant at 5 % and 80 % power',
    )
    t.match(page.body, /data-value="11"[^<]*<\/span\s*>\s*more for B/, '11 more than the 4 B had')
    t.match(page.body, new RegExp(`data-value="${variants.variants[0].pValue}"`), 'the p-value')
    t.match(page.body, /<svg class="band"[^>]+aria-label="CTR 50% against the benchmark band 8.9% to 14.5%"/)

    const overview = await open(app, '/dashboard/overview', cookie)
    t.equal(overview.statusCode, 200)
    t.match(overview.body, /Campaigns[\s\S]*data-value="0.5"/, 'campaigns: 4 clickers of 8')
    t.match(overview.body, /No flow messages in the last 30 days/)
  })
})
