import t from 'tap'
import type { ClickRow } from '../../src/click.js'
import { recordClicks } from '../../src/clicks/click-batch.js'
import { forEachBackend } from '../fixtures/store-backends.js'

const PHONE = { userAgent: 'Mozilla/5.0 (iPhone)', device: 'mobile', os: 'iOS', browser: 'Mobile Safari' }
const NO_AGENT = { userAgent: null, device: null, os: null, browser: null }

function click(fields: Partial<ClickRow> & Pick<ClickRow, 'at' | 'messageId' | 'linkId'>): ClickRow {
  return {
    recipientIdx: null,
    class: 'human',
    reason: null,
    network: '192.0.2.0/24',
    clickId: null,
    ...NO_AGENT,
    ...fields,
  }
}

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('a batch: uniques, repeats, forged indexes, classes, breakdowns, events', async (t) => {
    const owner = await seed.tenant()
    const webhook = await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://h.dk',
      events: ['click'],
      secret: 's',
      createdAt: 1,
    })
    const message = await seed.message(owner, { createdAt: 10_000 }, ['a', 'b', 'c'])
    const [l0, l1] = message.links.map((link) => link.id) as [number, number]
    const m = message.id
    await recordClicks(store, [
      click({ at: 20_000, messageId: m, linkId: l0, recipientIdx: 0, clickId: 'k1', ...PHONE }),
      click({ at: 21_000, messageId: m, linkId: l1, recipientIdx: 0, ...PHONE }),
      click({ at: 22_000, messageId: m, linkId: l0, recipientIdx: 0, ...PHONE }),
      click({ at: 23_000, messageId: m, linkId: l1, recipientIdx: 1, class: 'bot', reason: 'bot_user_agent' }),
      click({ at: 24_000, messageId: m, linkId: l0, recipientIdx: 2, class: 'preview', reason: 'preview_user_agent' }),
      click({ at: 25_000, messageId: m, linkId: l0, recipientIdx: 99 }),
      click({ at: 26_000, messageId: m, linkId: l0, recipientIdx: 1 }),
    ])
    const counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 5, unique: 2, bots: 1, previews: 1 })
    t.same(counters.links, [
      { linkId: l0, clicks: { total: 4, unique: 2, bots: 0, previews: 1 } },
      { linkId: l1, clicks: { total: 1, unique: 1, bots: 1, previews: 0 } },
    ])
    t.same(counters.byReason, { bot_user_agent: 1, preview_user_agent: 1 })
    const breakdowns = Object.fromEntries(counters.breakdowns.map((b) => [`${b.dimension}=${b.value}`, b.clicks]))
    t.same(breakdowns, {
      'device=mobile': 3,
      'os=iOS': 3,
      'browser=Mobile Safari': 3,
      'hour=0': 5,
      'day=0': 5,
      'first_click=14': 1, // a: 10 s after creation
      'first_click=17': 1, // b: 16 s
    })
    // The five human clicks came 10 to 16 s after the message was created: the first minute's bucket.
    t.same(await store.messageClickSeries(m), [{ bucket: 0, clicks: 5 }])
    t.equal(await store.lastHumanClick(m, 0), 22_000)
    t.equal(await store.lastHumanClick(m, 1), 26_000)
    t.equal(await store.lastHumanClick(m, 2), null)
    const exported = await store.listClicks(m, { xid: 0, id: 0 }, 100)
    t.same(
      exported.map((c) => [c.at, c.recipientId, c.class, c.userAgent]),
      [
        [20_000, 'a', 'human', PHONE.userAgent],
        [21_000, 'a', 'human', PHONE.userAgent],
        [22_000, 'a', 'human', PHONE.userAgent],
        [23_000, 'b', 'bot', null],
        [24_000, 'c', 'preview', null],
        [25_000, null, 'human', null],
        [26_000, 'b', 'human', null],
      ],
    )
    t.match(await store.findClick('k1'), { at: 20_000, messageId: m, linkId: l0, recipientIdx: 0, class: 'human' })
    const events = (await store.dueWebhookEvents(1e12, 1000)).filter((e) => e.webhookId === webhook.id)
    t.same(
      events.map((e) => {
        const body = JSON.parse(e.body)
        t.equal(body.id, e.publicId)
        return [
          body.type,
          body.time,
          body.messageId,
          body.recipientId,
          body.link.id,
          body.click.class,
          body.click.reason,
        ]
      }),
      [
        ['click', new Date(20_000).toISOString(), message.publicId, 'a', message.links[0]!.publicId, 'human', null],
        ['click', new Date(21_000).toISOString(), message.publicId, 'a', message.links[1]!.publicId, 'human', null],
        ['click', new Date(22_000).toISOString(), message.publicId, 'a', message.links[0]!.publicId, 'human', null],
        [
          'click',
          new Date(23_000).toISOString(),
          message.publicId,
          'b',
          message.links[1]!.publicId,
          'bot',
          'bot_user_agent',
        ],
        [
          'click',
          new Date(24_000).toISOString(),
          message.publicId,
          'c',
          message.links[0]!.publicId,
          'preview',
          'preview_user_agent',
        ],
        ['click', new Date(25_000).toISOString(), message.publicId, null, message.links[0]!.publicId, 'human', null],
        ['click', new Date(26_000).toISOString(), message.publicId, 'b', message.links[0]!.publicId, 'human', null],
      ],
    )
  })

  t.test('too_fast and burst: decided in the write, in click order', async (t) => {
    const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, ['a', 'b', 'c'])
    const m = message.id
    const l0 = message.links[0]!.id
    await recordClicks(store, [click({ at: 20_000, messageId: m, linkId: l0, recipientIdx: 1 })])
    await store.applyDeliveryReports(m, [{ recipientId: 'c', status: 'delivered', at: 30_000 }])
    const calls: unknown[] = []
    const rules = {
      tooFastMs: 2_000,
      isBurst(messageId: number, idx: number, network: string, at: number) {
        calls.push([messageId, idx, network, at])
        return network === 'burst-net'
      },
    }
    await recordClicks(
      store,
      [
        click({ at: 31_000, messageId: m, linkId: l0, recipientIdx: 2 }), // 1 s after its delivery: too fast
        click({ at: 31_500, messageId: m, linkId: l0, recipientIdx: 1, network: 'n1' }), // no report of its own
        click({ at: 40_000, messageId: m, linkId: l0, recipientIdx: 0, network: 'burst-net' }),
        click({ at: 40_500, messageId: m, linkId: l0 }), // anonymous: no burst check
        click({ at: 40_600, messageId: m, linkId: l0, recipientIdx: 0, class: 'bot', reason: 'bot_user_agent' }),
      ],
      rules,
    )
    t.same(calls, [
      [m, 1, 'n1', 31_500],
      [m, 0, 'burst-net', 40_000],
    ])
    const counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 3, unique: 1, bots: 3, previews: 0 })
    t.same(counters.byReason, { too_fast: 1, burst: 1, bot_user_agent: 1 })
    t.equal(await store.lastHumanClick(m, 1), 31_500)
    t.equal(await store.lastHumanClick(m, 2), null)
  })

  t.test('a message with one link: the first click on it is the first on the message', async (t) => {
    const message = await seed.message(
      await seed.tenant(),
      { links: [{ publicId: seed.unique('lnk_'), code: seed.unique('c'), url: 'https://one.dk' }] },
      ['a'],
    )
    const l = message.links[0]!.id
    await recordClicks(store, [
      click({ at: 20_000, messageId: message.id, linkId: l, recipientIdx: 0 }),
      click({ at: 20_001, messageId: message.id, linkId: l, recipientIdx: 0 }),
    ])
    await recordClicks(store, [click({ at: 20_002, messageId: message.id, linkId: l, recipientIdx: 0 })])
    const counters = await store.messageCounters(message.id)
    t.same(counters.clicks, { total: 3, unique: 1, bots: 0, previews: 0 })
    t.same(counters.links, [{ linkId: l, clicks: { total: 3, unique: 1, bots: 0, previews: 0 } }])
  })

  t.test('one recipient in two batches written at once counts once', async (t) => {
    const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, ['z'])
    const [l0, l1] = message.links.map((link) => link.id) as [number, number]
    await Promise.all([
      recordClicks(store, [click({ at: 20_000, messageId: message.id, linkId: l0, recipientIdx: 0, ...PHONE })]),
      recordClicks(store, [click({ at: 20_000, messageId: message.id, linkId: l1, recipientIdx: 0, ...PHONE })]),
      recordClicks(store, [click({ at: 20_000, messageId: message.id, linkId: l0, recipientIdx: 0, ...PHONE })]),
    ])
    const counters = await store.messageCounters(message.id)
    t.same(counters.clicks, { total: 3, unique: 1, bots: 0, previews: 0 })
    t.same(
      counters.links.map((l) => l.clicks.unique),
      [1, 1],
    )
    t.equal(counters.breakdowns.filter((b) => b.dimension === 'first_click').length, 1)
  })

  t.test('batches touching the same messages in opposite orders, at once, all count', async (t) => {
    const owner = await seed.tenant()
    const a = await seed.message(owner, { createdAt: 10_000 }, ['a0', 'a1', 'a2', 'a3'])
    const b = await seed.message(owner, { createdAt: 10_000 }, ['b0', 'b1', 'b2', 'b3'])
    const on = (m: typeof a, idx: number, at: number) =>
      click({ at, messageId: m.id, linkId: m.links[idx % 2]!.id, recipientIdx: idx, ...PHONE })
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        recordClicks(store, i % 2 === 0 ? [on(a, i, 20_000), on(b, i, 20_000)] : [on(b, i, 20_000), on(a, i, 20_000)]),
      ),
    )
    for (const m of [a, b]) {
      const counters = await store.messageCounters(m.id)
      t.same(counters.clicks, { total: 4, unique: 4, bots: 0, previews: 0 })
      t.same(
        counters.links.map((l) => l.clicks.unique),
        [2, 2],
      )
      t.same(await store.messageClickSeries(m.id), [{ bucket: 0, clicks: 4 }])
    }
  })

  t.test('a batch the database refuses stores nothing', async (t) => {
    const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, ['a'])
    const l0 = message.links[0]!.id
    const refused = click({ at: 20_001, messageId: message.id, linkId: l0, recipientIdx: 0 })
    // The clicks table's CHECK refuses this class: the first click's rows must go too.
    refused.class = 'nonsense' as ClickRow['class']
    await t.rejects(
      recordClicks(store, [
        click({ at: 20_000, messageId: message.id, linkId: l0, recipientIdx: 0, ...PHONE }),
        refused,
      ]),
    )
    const counters = await store.messageCounters(message.id)
    t.same(counters.clicks, { total: 0, unique: 0, bots: 0, previews: 0 })
    t.same(counters.breakdowns, [])
    t.same(await store.listClicks(message.id, { xid: 0, id: 0 }, 10), [])
    t.equal(await store.lastHumanClick(message.id, 0), null)
    t.same(await store.messageClickSeries(message.id), [])
    await recordClicks(store, [click({ at: 20_002, messageId: message.id, linkId: l0, recipientIdx: 0, ...PHONE })])
    t.same((await store.messageCounters(message.id)).clicks, { total: 1, unique: 1, bots: 0, previews: 0 })
  })

  t.test('an empty batch writes nothing', async (t) => {
    await t.resolves(recordClicks(store, []))
  })
})
