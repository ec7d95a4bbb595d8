import t from 'tap'
import type { OptOutSource, OptOutWrite, Tenant } from '../../src/db/store.js'
import { forEachBackend } from '../fixtures/store-backends.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  /** An opt-out as the rules hand it to the store, with one marker event to see whether it was queued. */
  const write = (
    owner: { tenant: Tenant },
    recipientId: string,
    source: OptOutSource,
    at: number,
    message: { id: number; publicId: string } | null,
    recipientIdx = 0,
    webhookId?: number,
  ): OptOutWrite => ({
    tenantId: owner.tenant.id,
    recipientId,
    source,
    at,
    message: message && { messageId: message.id, publicId: message.publicId, recipientIdx },
    events:
      webhookId === undefined
        ? []
        : [{ publicId: seed.unique('evt_'), webhookId, type: 'unsubscribe', body: `{"n":${at}}`, at }],
  })
  const unsubscribeHook = (owner: { tenant: Tenant }) =>
    store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://hooks.shop.dk/in',
      events: ['unsubscribe'],
      secret: 'whsec_x',
      createdAt: 1,
    })
  const bySource = (counts: Partial<Record<OptOutSource, number>>) => ({
    link: 0,
    reply: 0,
    import: 0,
    support: 0,
    ...counts,
  })

  t.test('an opt-out is listed once and counted once per message; events only when something changed', async (t) => {
    const owner = await seed.tenant()
    const hook = await unsubscribeHook(owner)
    const first = await seed.message(owner, {}, ['alice', 'bob'])
    const second = await seed.message(owner, {}, ['alice'])

    const outcomes = await store.recordOptOuts([
      write(owner, 'alice', 'reply', 50_000, first, 0, hook.id),
      write(owner, 'alice', 'reply', 50_500, first, 0, hook.id), // the same reply posted twice
      write(owner, 'alice', 'link', 51_000, second, 0, hook.id), // already listed, new on this message
      write(owner, 'bob', 'support', 52_000, first, 1, hook.id),
      write(owner, 'carol', 'import', 53_000, null, 0, hook.id), // answers no message
      write(owner, 'carol', 'import', 53_500, null, 0, hook.id),
    ])
    t.same(outcomes, [
      { listed: true, counted: true },
      { listed: false, counted: false },
      { listed: false, counted: true },
      { listed: true, counted: true },
      { listed: true, counted: false },
      { listed: false, counted: false },
    ])
    t.same((await store.messageCounters(first.id)).unsubscribes.bySource, bySource({ reply: 1, support: 1 }))
    t.same((await store.messageCounters(second.id)).unsubscribes.bySource, bySource({ link: 1 }))

    const page = await store.listOptOuts(owner.tenant.id, 0, 10)
    t.same(
      page.optOuts,
      [
        { recipientId: 'alice', change: 'optout', source: 'reply', messagePublicId: first.publicId, at: 50_000 },
        { recipientId: 'bob', change: 'optout', source: 'support', messagePublicId: first.publicId, at: 52_000 },
        { recipientId: 'carol', change: 'optout', source: 'import', messagePublicId: null, at: 53_000 },
      ],
      'each recipient once, the first opt-out kept',
    )
    t.same(
      await store.optedOutRecipients(owner.tenant.id, ['alice', 'bob', 'carol', 'dave']),
      new Set(['alice', 'bob', 'carol']),
    )
    t.same(await store.optedOutRecipients((await seed.tenant()).tenant.id, ['alice']), new Set())
    t.same(await store.optedOutRecipients(owner.tenant.id, []), new Set())
    t.same(
      await store.optOutsAmong(owner.tenant.id, ['alice', 'dave']),
      { optedOut: new Set(['alice']), erased: false },
      'the ids on the list, and no erased recipient',
    )
    t.same(await store.optOutsAmong(owner.tenant.id, []), { optedOut: new Set(), erased: false })

    const queued = (await store.dueWebhookEvents(60_000, 1000)).filter((e) => e.webhookId === hook.id)
    t.same(
      queued.map((e) => JSON.parse(e.body) as { n: number }).map((body) => body.n),
      [50_000, 51_000, 52_000, 53_000],
      'the events of the writes that changed something, and only those',
    )
  })

  t.test('a re-subscribe takes the recipient off the list and joins the feed; opting out again is new', async (t) => {
    const owner = await seed.tenant()
    const hook = await unsubscribeHook(owner)
    const message = await seed.message(owner, {}, ['alice'])
    await store.recordOptOuts([write(owner, 'alice', 'reply', 1_000, message)])
    const event = {
      publicId: seed.unique('evt_'),
      webhookId: hook.id,
      type: 'unsubscribe' as const,
      body: '{}',
      at: 2_000,
    }

    t.equal(
      await store.resubscribe({ tenantId: owner.tenant.id, recipientId: 'alice', at: 2_000, events: [event] }),
      true,
    )
    t.same(await store.optedOutRecipients(owner.tenant.id, ['alice']), new Set(), 'suppression lifts')
    t.equal(
      await store.resubscribe({ tenantId: owner.tenant.id, recipientId: 'alice', at: 2_500, events: [event] }),
      false,
      'not on the list any more: nothing written',
    )
    t.equal(await store.resubscribe({ tenantId: owner.tenant.id, recipientId: 'nobody', at: 2_500, events: [] }), false)
    t.equal((await store.dueWebhookEvents(3_000, 1000)).filter((e) => e.webhookId === hook.id).length, 1)

    const [again] = await store.recordOptOuts([write(owner, 'alice', 'support', 3_000, message)])
    t.same(again, { listed: true, counted: false }, 'listed again; the message counted it already')
    t.same(await store.optedOutRecipients(owner.tenant.id, ['alice']), new Set(['alice']))
    t.same(
      (await store.listOptOuts(owner.tenant.id, 0, 10)).optOuts.map((o) => [o.change, o.source, o.at]),
      [
        ['optout', 'reply', 1_000],
        ['resubscribe', null, 2_000],
        ['optout', 'support', 3_000],
      ],
    )
    t.same((await store.messageCounters(message.id)).unsubscribes.bySource, bySource({ reply: 1 }), 'counts stay')
  })

  t.test("the message an opt-out answers: the tenant's newest to the recipient at or before the time", async (t) => {
    const owner = await seed.tenant()
    const older = await seed.message(owner, { createdAt: 1_000 }, ['alice', 'bob'])
    const newer = await seed.message(owner, { createdAt: 2_000 }, ['carol', 'alice'])
    await seed.message(owner, { createdAt: 3_000 }, ['alice'])
    await seed.message(await seed.tenant(), { createdAt: 2_500 }, ['alice', 'bob'])
    const found = await store.latestMessagesTo(owner.tenant.id, [
      { recipientId: 'alice', before: 2_999 },
      { recipientId: 'alice', before: 1_500 },
      { recipientId: 'bob', before: 10_000 },
      { recipientId: 'alice', before: 999 },
      { recipientId: 'nobody', before: 10_000 },
    ])
    t.same(found, [
      { messageId: newer.id, publicId: newer.publicId, recipientIdx: 1 },
      { messageId: older.id, publicId: older.publicId, recipientIdx: 0 },
      { messageId: older.id, publicId: older.publicId, recipientIdx: 1 },
      null,
      null,
    ])
    t.same(await store.latestMessagesTo(owner.tenant.id, []), [])
  })

  t.test('the opt-out feed pages by an opaque cursor, oldest first', async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, {}, ['r0', 'r1', 'r2', 'r3', 'r4'])
    for (let i = 0; i < 5; i++) await seed.optOut(message, i, 60_000 + i)
    const one = await store.listOptOuts(owner.tenant.id, 0, 2)
    t.same(
      one.optOuts.map((o) => o.recipientId),
      ['r0', 'r1'],
    )
    t.equal(one.hasMore, true)
    const two = await store.listOptOuts(owner.tenant.id, one.last, 2)
    t.same(
      two.optOuts.map((o) => o.recipientId),
      ['r2', 'r3'],
    )
    const three = await store.listOptOuts(owner.tenant.id, two.last, 2)
    t.same(
      three.optOuts.map((o) => o.recipientId),
      ['r4'],
    )
    t.equal(three.hasMore, false)
    const empty = await store.listOptOuts(owner.tenant.id, three.last, 2)
    t.same(empty, { optOuts: [], last: three.last, hasMore: false })
  })

  t.test('opt-outs confirmed at once all reach the feed, each once', async (t) => {
    const owner = await seed.tenant()
    const ids = Array.from({ length: 20 }, (_, i) => `p${i}`)
    const message = await seed.message(owner, {}, ids)
    await Promise.all(ids.map((_, i) => seed.optOut(message, i, 70_000)))
    const seen: string[] = []
    let after = 0
    for (;;) {
      const page = await store.listOptOuts(owner.tenant.id, after, 3)
      seen.push(...page.optOuts.map((o) => o.recipientId))
      after = page.last
      if (!page.hasMore) break
    }
    t.same(seen.sort(), [...ids].sort())
  })

  t.test('unsubscribe page visits add up per message', async (t) => {
    const owner = await seed.tenant()
    const a = await seed.message(owner)
    const b = await seed.message(owner)
    await store.addUnsubscribeVisits(
      new Map([
        [a.id, 2],
        [b.id, 1],
      ]),
    )
    await store.addUnsubscribeVisits(new Map([[a.id, 3]]))
    await store.addUnsubscribeVisits(new Map())
    t.equal((await store.messageCounters(a.id)).unsubscribes.linkVisits, 5)
    t.equal((await store.messageCounters(b.id)).unsubscribes.linkVisits, 1)
  })

  t.test('the latest delivery report per recipient wins; counters follow it', async (t) => {
    const message = await seed.message(await seed.tenant(), {}, ['a', 'b', 'c'])
    const first = await store.applyDeliveryReports(message.id, [
      { recipientId: 'a', status: 'delivered', at: 100 },
      { recipientId: 'b', status: 'failed', at: 100 },
      { recipientId: 'nobody', status: 'delivered', at: 100 },
    ])
    t.same(first, { applied: 2, outdated: 0, unknownRecipients: ['nobody'] })
    t.same((await store.messageCounters(message.id)).deliveries, { delivered: 1, failed: 1 })
    const second = await store.applyDeliveryReports(message.id, [
      { recipientId: 'a', status: 'failed', at: 50 },
      { recipientId: 'b', status: 'delivered', at: 200 },
      { recipientId: 'c', status: 'failed', at: 150 },
      { recipientId: 'c', status: 'delivered', at: 160 },
    ])
    t.same(second, { applied: 3, outdated: 1, unknownRecipients: [] })
    t.same((await store.messageCounters(message.id)).deliveries, { delivered: 3, failed: 0 })
  })
})
