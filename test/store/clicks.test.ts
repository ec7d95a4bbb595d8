import t from 'tap'
import { forEachBackend, insertRows } from '../fixtures/store-backends.js'

/** Raw click columns in the order insertClicks takes them. */
type RawClick = [
  at: number,
  messageId: number,
  linkId: number,
  recipientIdx: number | null,
  klass: string,
  reason: string | null,
  userAgentId: number | null,
  clickId: string | null,
]

const INSERT_CLICK = `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, click_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
const INSERT_UNIQUE = 'INSERT INTO message_uniques (message_id, recipient_idx, first_at, last_at) VALUES (?, ?, ?, ?)'

// These reads are checked over rows written with the same SQL on both backends, apart
// from the click write (click-write.test.ts).
forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('what the click rules read of messages and of recipients’ deliveries', async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, { createdAt: 10_000 }, ['a', 'b', 'c'])
    const plain = await seed.message(
      owner,
      { createdAt: 11_000, links: [{ publicId: seed.unique('lnk_'), code: seed.unique('c'), url: 'https://one.dk' }] },
      [],
    )
    let facts = await store.clickMessageFacts([message.id, plain.id, 987_654_321])
    t.equal(facts.size, 2, 'a message that does not exist is left out')
    t.same(facts.get(message.id), {
      tenantId: owner.tenant.id,
      publicId: message.publicId,
      recipients: 3,
      links: 2,
      createdAt: 10_000,
      lastDeliveryAt: null,
    })
    t.same(facts.get(plain.id), {
      tenantId: owner.tenant.id,
      publicId: plain.publicId,
      recipients: 0,
      links: 1,
      createdAt: 11_000,
      lastDeliveryAt: null,
    })
    t.same([...(await store.recipientsDeliveredAt(message.id, [0, 1, 2]))], [])
    await store.applyDeliveryReports(message.id, [
      { recipientId: 'a', status: 'delivered', at: 30_000 },
      { recipientId: 'c', status: 'delivered', at: 40_000, arrival: true },
    ])
    facts = await store.clickMessageFacts([message.id])
    t.equal(facts.get(message.id)?.lastDeliveryAt, 40_000)
    t.same(
      [...(await store.recipientsDeliveredAt(message.id, [0, 1, 2, 9]))].sort(),
      [
        [0, { at: 30_000, arrival: false }],
        [2, { at: 40_000, arrival: true }],
      ],
      'recipients without a report are left out; a report stamped on arrival says so',
    )
    t.same([...(await store.recipientsDeliveredAt(plain.id, [0]))], [])
  })

  t.test('a new message has zero counters, a row per link in position order', async (t) => {
    const message = await seed.message(await seed.tenant())
    const zero = { total: 0, unique: 0, bots: 0, previews: 0 }
    t.same(await store.messageCounters(message.id), {
      clicks: zero,
      pendingClicks: 0,
      byReason: {},
      breakdowns: [],
      conversions: 0,
      revenue: {},
      links: message.links.map((link) => ({ linkId: link.id, clicks: zero })),
      deliveries: { delivered: 0, failed: 0 },
      unsubscribes: { linkVisits: 0, bySource: { link: 0, reply: 0, import: 0, support: 0 } },
    })
  })

  t.test('counters, reasons and breakdowns are read as stored', async (t) => {
    const message = await seed.message(await seed.tenant())
    const [first, second] = message.links
    await insertRows(
      store,
      `UPDATE message_counters SET clicks_total = ?, clicks_unique = ?, clicks_bots = ?, clicks_previews = ?
       WHERE message_id = ?`,
      [[7, 3, 2, 1, message.id]],
    )
    await insertRows(
      store,
      `UPDATE link_counters SET clicks_total = ?, clicks_unique = ?, clicks_bots = ?, clicks_previews = ?
       WHERE link_id = ?`,
      [
        [5, 2, 2, 0, first!.id],
        [2, 1, 0, 1, second!.id],
      ],
    )
    await insertRows(store, 'INSERT INTO message_reason_counters (message_id, reason, clicks) VALUES (?, ?, ?)', [
      [message.id, 'bot_user_agent', 2],
      [message.id, 'preview_user_agent', 1],
    ])
    await insertRows(
      store,
      'INSERT INTO message_breakdowns (message_id, dimension, value, clicks) VALUES (?, ?, ?, ?)',
      [
        [message.id, 'os', 'iOS', 4],
        [message.id, 'hour', '13', 7],
      ],
    )
    const counters = await store.messageCounters(message.id)
    t.same(counters.clicks, { total: 7, unique: 3, bots: 2, previews: 1 })
    t.same(counters.links, [
      { linkId: first!.id, clicks: { total: 5, unique: 2, bots: 2, previews: 0 } },
      { linkId: second!.id, clicks: { total: 2, unique: 1, bots: 0, previews: 1 } },
    ])
    t.same(counters.byReason, { bot_user_agent: 2, preview_user_agent: 1 })
    t.same(
      [...counters.breakdowns].sort((a, b) => a.dimension.localeCompare(b.dimension)),
      [
        { dimension: 'hour', value: '13', clicks: 7 },
        { dimension: 'os', value: 'iOS', clicks: 4 },
      ],
    )
  })

  t.test('the export reads a message’s clicks in stored order, a page after a cursor', async (t) => {
    const message = await seed.message(await seed.tenant(), {}, ['alice', 'bob'])
    const other = await seed.message(await seed.tenant(), {}, ['carol'])
    const [first, second] = message.links
    const uaId = 900_000 + Number(seed.unique(''))
    await insertRows(store, 'INSERT INTO user_agents (id, ua) VALUES (?, ?)', [[uaId, 'Mozilla/5.0 (iPhone)']])
    const clicks: RawClick[] = [
      [20_000, message.id, first!.id, 0, 'human', null, uaId, 'cid-1'],
      [20_001, other.id, other.links[0]!.id, 0, 'human', null, null, null],
      [20_002, message.id, second!.id, null, 'bot', 'bot_user_agent', null, null],
      [20_003, message.id, first!.id, 1, 'preview', 'preview_user_agent', null, null],
      [20_004, message.id, first!.id, 0, 'human', null, uaId, 'cid-2'],
    ]
    await insertRows(store, INSERT_CLICK, clicks)
    const page = await store.listClicks(message.id, { xid: 0, id: 0 }, 3)
    t.match(page, [
      {
        at: 20_000,
        linkPublicId: first!.publicId,
        recipientId: 'alice',
        class: 'human',
        reason: null,
        userAgent: 'Mozilla/5.0 (iPhone)',
      },
      {
        at: 20_002,
        linkPublicId: second!.publicId,
        recipientId: null,
        class: 'bot',
        reason: 'bot_user_agent',
        userAgent: null,
      },
      { at: 20_003, linkPublicId: first!.publicId, recipientId: 'bob', class: 'preview', reason: 'preview_user_agent' },
    ])
    const rest = await store.listClicks(message.id, page[2]!, 3)
    t.same(
      rest.map((c) => c.at),
      [20_004],
    )
    t.same(await store.listClicks(message.id, rest[0]!, 3), [])

    t.match(await store.findClick('cid-2'), {
      at: 20_004,
      messageId: message.id,
      linkId: first!.id,
      recipientIdx: 0,
      class: 'human',
    })
    t.equal(await store.findClick('cid-none'), null)
  })

  t.test("a recipient's last human click: the latest repeat, else the first", async (t) => {
    const message = await seed.message(await seed.tenant(), {}, ['a', 'b', 'c'])
    await insertRows(store, INSERT_UNIQUE, [
      [message.id, 0, 30_000, null],
      [message.id, 1, 30_000, 35_000],
    ])
    t.equal(await store.lastHumanClick(message.id, 0), 30_000)
    t.equal(await store.lastHumanClick(message.id, 1), 35_000)
    t.equal(await store.lastHumanClick(message.id, 2), null)
  })

  t.test('engaged recipients: clicked since, once each, in id order after a cursor', async (t) => {
    const owner = await seed.tenant()
    const a = await seed.message(owner, {}, ['zed', 'amy', 'bo'])
    const b = await seed.message(owner, {}, ['amy', 'cy'])
    const elsewhere = await seed.message(await seed.tenant(), {}, ['dan'])
    await insertRows(store, INSERT_UNIQUE, [
      [a.id, 0, 40_000, null], // zed
      [a.id, 1, 10_000, 41_000], // amy, repeat is recent
      [a.id, 2, 10_000, null], // bo, too long ago
      [b.id, 0, 42_000, null], // amy again
      [b.id, 1, 43_000, null], // cy
      [elsewhere.id, 0, 44_000, null],
    ])
    t.same(await store.engagedRecipients(owner.tenant.id, 40_000, '', 10), ['amy', 'cy', 'zed'])
    t.same(await store.engagedRecipients(owner.tenant.id, 40_000, '', 2), ['amy', 'cy'])
    t.same(await store.engagedRecipients(owner.tenant.id, 40_000, 'cy', 2), ['zed'])
    t.same(await store.engagedRecipients(owner.tenant.id, 1, 'Z', 10), ['amy', 'bo', 'cy', 'zed'], 'byte order')
  })
})
