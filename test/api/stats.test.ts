import t from 'tap'
import {
  bearer,
  eventually,
  createTenant,
  json,
  postMessage,
  startApp,
  stats,
  tap,
  UA,
  startWithMessage,
  withEachBackend,
} from '../helpers.js'

/** A message with two links, to three recipients unless said otherwise. */
const twoLinks = (recipients = ['cust-1', 'cust-2', 'cust-3']) => ({
  links: [{ url: 'https://shop.dk/sale' }, { url: 'https://shop.dk/terms' }],
  recipients,
})

withEachBackend(t, (t) => {
  t.test('a new message has zero clicks and a CTR of 0', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const figures = await stats(app, key, message.id)
    t.same(figures, {
      id: message.id,
      recipients: 3,
      delivered: null,
      failed: null,
      deliveryRate: null,
      clicks: {
        total: 0,
        unique: 0,
        bots: 0,
        previews: 0,
        pending: 0,
        byReason: {
          head_request: 0,
          no_user_agent: 0,
          bot_user_agent: 0,
          preview_user_agent: 0,
          too_fast: 0,
          burst: 0,
          sweep: 0,
        },
      },
      ctr: 0,
      unsubscribes: { linkVisits: 0, confirmed: 0, total: 0, bySource: { link: 0, reply: 0, import: 0, support: 0 } },
      unsubscribeRate: 0,
      links: message.links.map((link: { id: string; url: string }) => ({
        id: link.id,
        url: link.url,
        clicks: { total: 0, unique: 0, bots: 0, previews: 0 },
      })),
      breakdowns: {
        device: {},
        os: {},
        browser: {},
        hourOfDay: new Array(24).fill(0),
        daySinceSending: [],
        timeToFirstClick: { recipients: 0, medianSeconds: null, p90Seconds: null },
      },
      conversions: 0,
      conversionRate: null,
      revenue: {},
    })
  })

  t.test('two clicks of one recipient count once as unique', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const link = message.recipients[0].links[0]
    await tap(app, link, { userAgent: UA.iphoneSafari })
    await tap(app, link, { userAgent: UA.iphoneSafari })
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 2, unique: 1, bots: 0, previews: 0 })
    t.equal(figures.ctr, 0.3333)
    t.same(figures.links[0].clicks, { total: 2, unique: 1, bots: 0, previews: 0 })
    t.same(figures.links[1].clicks, { total: 0, unique: 0, bots: 0, previews: 0 })
  })

  t.test('unique per message counts a recipient once across links; per link, once per link', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const [first, second] = message.recipients
    await tap(app, first.links[0])
    await tap(app, first.links[1], { userAgent: UA.androidChrome })
    await tap(app, second.links[1], { userAgent: UA.androidChrome })
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 3, unique: 2, bots: 0, previews: 0 })
    t.equal(figures.ctr, 0.6667)
    t.same(figures.links[0].clicks, { total: 1, unique: 1, bots: 0, previews: 0 })
    t.same(figures.links[1].clicks, { total: 2, unique: 2, bots: 0, previews: 0 })
  })

  t.test('six taps by two recipients, a bare code and a preview: 5 clicks, 2 unique, 1 preview', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const [a, b] = message.recipients
    await tap(app, a.links[0])
    await tap(app, a.links[0])
    await tap(app, b.links[0], { userAgent: UA.androidChrome })
    await tap(app, b.links[0], { userAgent: UA.androidChrome })
    await tap(app, message.links[1].shortUrl)
    await tap(app, a.links[0], { userAgent: UA.imessagePreview })
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 5, unique: 2, bots: 0, previews: 1 })
    t.equal(figures.ctr, 0.6667)
    t.same(figures.links[0].clicks, { total: 4, unique: 2, bots: 0, previews: 1 })
    t.same(figures.links[1].clicks, { total: 1, unique: 0, bots: 0, previews: 0 }, 'a bare code is an anonymous click')
  })

  t.test('bots, link previews, HEAD and requests without a user agent are not clicks', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const link = message.recipients[0].links[0]
    await tap(app, link, { userAgent: UA.imessagePreview })
    await tap(app, link, { userAgent: UA.whatsapp })
    await tap(app, link, { userAgent: UA.slackbot })
    await tap(app, link, { userAgent: UA.googlebot })
    await tap(app, link, { userAgent: null })
    await tap(app, link, { method: 'HEAD', userAgent: UA.iphoneSafari })
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, {
      total: 0,
      unique: 0,
      bots: 3,
      previews: 3,
      byReason: {
        head_request: 1,
        no_user_agent: 1,
        bot_user_agent: 1,
        preview_user_agent: 3,
        too_fast: 0,
        burst: 0,
        sweep: 0,
      },
    })
    t.equal(figures.ctr, 0)

    await tap(app, link, { userAgent: UA.iphoneSafari })
    const after = await stats(app, key, message.id)
    t.has(after.clicks, { total: 1, unique: 1, bots: 3, previews: 3 }, 'the person still counts after the machines')
  })

  t.test('a forged token counts as an anonymous click, never as a recipient', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const code = message.links[0].code
    const real = message.recipients[1].token as string
    // Same index, wrong MAC: the closest a forger can get without the secret.
    const forged = real.slice(0, -1) + (real.endsWith('a') ? 'b' : 'a')
    const response = await tap(app, `https://s.shop.dk/${code}-${forged}`)
    t.equal(response.statusCode, 302)
    await tap(app, `https://s.shop.dk/${code}-0000000`)
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 2, unique: 0, bots: 0, previews: 0 })
    t.equal(figures.ctr, 0)
  })

  t.test('a correctly signed token for a recipient that was never issued is anonymous', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    // Only someone holding the secret could make this token; the flush still refuses it.
    const stored = await app.services.store.getMessage(1, message.id)
    const token = app.services.tokens.issue(stored!.id, 3)
    await tap(app, `${message.links[0].shortUrl}-${token}`)
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 1, unique: 0, bots: 0, previews: 0 })
  })

  t.test('a signed token whose index is past 2^32 is anonymous, not the recipient it wraps to', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const stored = await app.services.store.getMessage(1, message.id)
    // 2^32 + 1 would read as recipient 1 if the index were cut to 32 bits on the way to the database.
    const token = app.services.tokens.issue(stored!.id, 2 ** 32 + 1)
    await tap(app, `${message.links[0].shortUrl}-${token}`)
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 1, unique: 0, bots: 0, previews: 0 })
  })

  t.test("a token from one message does not count for another message's link", async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks())
    const other = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: ['z'] }))
    // cust-1 of the first message and z of the second both have index 0.
    await tap(app, `${other.links[0].shortUrl}-${message.recipients[0].token}`)
    const figures = await stats(app, key, other.id)
    t.has(figures.clicks, { total: 1, unique: 0, bots: 0, previews: 0 })
  })

  t.test('CTR is unique clickers over recipients, rounded to 4 places', async (t) => {
    const recipients = Array.from({ length: 7 }, (_, i) => `r${i}`)
    const { app, key, message } = await startWithMessage(t, twoLinks(recipients))
    for (const recipient of message.recipients.slice(0, 3)) await tap(app, recipient.links[1])
    const figures = await stats(app, key, message.id)
    t.equal(figures.clicks.unique, 3)
    t.equal(figures.ctr, 0.4286)
  })

  t.test('a message without recipients has no CTR', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks([]))
    await tap(app, message.links[0].shortUrl)
    const figures = await stats(app, key, message.id)
    t.equal(figures.recipients, 0)
    t.equal(figures.ctr, null)
    t.has(figures.clicks, { total: 1, unique: 0, bots: 0, previews: 0 })
  })

  t.test('recipients added later are counted and their clicks are unique', async (t) => {
    const { app, key, message } = await startWithMessage(t, twoLinks(['a']))
    const added = json(
      await app.inject({
        method: 'POST',
        url: `/v1/messages/${message.id}/recipients`,
        headers: bearer(key),
        payload: { recipients: ['b', 'c', 'd'] },
      }),
    )
    await tap(app, added.recipients[2].links[0])
    const figures = await stats(app, key, message.id)
    t.equal(figures.recipients, 4)
    t.has(figures.clicks, { total: 1, unique: 1, bots: 0, previews: 0 })
    t.equal(figures.ctr, 0.25)
  })

  t.test('clicks are written within the flush interval without anyone asking', async (t) => {
    const app = await startApp(t, { env: { CLICK_FLUSH_INTERVAL_MS: '20' } })
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    await tap(app, message.recipients[0].links[0])
    const clicks = async () =>
      json(await app.inject({ url: `/v1/messages/${message.id}/stats`, headers: bearer(key) })).clicks
    await eventually(t, 'the click written by the timer', async () => (await clicks()).total === 1)
    t.has(await clicks(), { total: 1, unique: 1, bots: 0, previews: 0 })
  })

  t.test("another tenant's key gets 404 for a message, its stats and its recipients", async (t) => {
    const { app, message } = await startWithMessage(t, twoLinks())
    const other = await createTenant(app, 's.other.dk', 'Other')
    for (const url of [`/v1/messages/${message.id}`, `/v1/messages/${message.id}/stats`]) {
      const response = await app.inject({ url, headers: bearer(other.key) })
      t.equal(response.statusCode, 404, url)
      t.same(json(response), { error: 'not_found', message: 'message not found' }, url)
    }
    const add = await app.inject({
      method: 'POST',
      url: `/v1/messages/${message.id}/recipients`,
      headers: bearer(other.key),
      payload: { recipients: ['intruder'] },
    })
    t.equal(add.statusCode, 404)
    const list = json(await app.inject({ url: '/v1/messages', headers: bearer(other.key) }))
    t.same(list.messages, [], 'and does not list it')
  })

  t.test('a single-link message counts unique clickers per link like per message', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/only' }], recipients: ['a', 'b'] }),
    )
    const [a, b] = message.recipients
    await tap(app, a.links[0])
    await tap(app, a.links[0], { userAgent: UA.androidChrome })
    await tap(app, b.links[0])
    await tap(app, message.links[0].shortUrl)
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 4, unique: 2, bots: 0, previews: 0 })
    t.same(figures.links[0].clicks, { total: 4, unique: 2, bots: 0, previews: 0 })
    await tap(app, b.links[0])
    t.same(
      (await stats(app, key, message.id)).links[0].clicks,
      { total: 5, unique: 2, bots: 0, previews: 0 },
      'a repeat stays one',
    )
  })
})
