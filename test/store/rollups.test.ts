import t from 'tap'
import { forEachBackend, insertRows } from '../fixtures/store-backends.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('campaign, variant and kind totals sum the counters of the matching messages', async (t) => {
    const owner = await seed.tenant()
    const a = await seed.message(owner, { campaign: 'spring', variant: 'A', createdAt: 1_000 }, ['1', '2', '3', '4'])
    const b = await seed.message(owner, { campaign: 'spring', variant: 'B', createdAt: 2_000 }, ['1', '2'])
    const plain = await seed.message(owner, { campaign: 'spring', createdAt: 3_000, kind: 'flow' }, ['1'])
    await seed.message(owner, { campaign: 'summer', createdAt: 4_000 }, ['1'])
    await seed.message(await seed.tenant(), { campaign: 'spring', variant: 'A' }, ['1'])
    // A's delivery reports came: its reach is the delivered count.
    await store.applyDeliveryReports(a.id, [
      { recipientId: '1', status: 'delivered', at: 5 },
      { recipientId: '2', status: 'delivered', at: 5 },
      { recipientId: '3', status: 'failed', at: 5 },
    ])
    await seed.optOut(b, 0, 6)
    // A reply to A: another channel, counted beside the link's.
    await store.recordOptOuts([
      {
        tenantId: owner.tenant.id,
        recipientId: '2',
        source: 'reply',
        at: 7,
        message: { messageId: a.id, publicId: a.publicId, recipientIdx: 1 },
        events: [],
      },
    ])
    await insertRows(store, 'UPDATE message_counters SET clicks_unique = ? WHERE message_id = ?', [
      [2, a.id],
      [1, b.id],
      [1, plain.id],
    ])

    t.same(await store.campaignTotals(owner.tenant.id, 'spring'), {
      messages: 3,
      kind: null,
      recipients: 7,
      delivered: 2,
      reportedMessages: 1,
      reach: 2 + 2 + 1,
      uniqueClickers: 4,
      unsubscribes: { link: 1, reply: 1, import: 0, support: 0 },
    })
    t.same(await store.variantTotals(owner.tenant.id, 'spring'), [
      {
        variant: 'A',
        messages: 1,
        kind: 'campaign',
        recipients: 4,
        delivered: 2,
        reportedMessages: 1,
        reach: 2,
        uniqueClickers: 2,
        unsubscribes: { link: 0, reply: 1, import: 0, support: 0 },
      },
      {
        variant: 'B',
        messages: 1,
        kind: 'campaign',
        recipients: 2,
        delivered: 0,
        reportedMessages: 0,
        reach: 2,
        uniqueClickers: 1,
        unsubscribes: { link: 1, reply: 0, import: 0, support: 0 },
      },
    ])
    t.same(await store.kindTotals(owner.tenant.id, 'campaign', 1_000, 3_000), {
      messages: 2,
      kind: 'campaign',
      recipients: 6,
      delivered: 2,
      reportedMessages: 1,
      reach: 4,
      uniqueClickers: 3,
      unsubscribes: { link: 1, reply: 1, import: 0, support: 0 },
    })
    t.same(await store.campaignTotals(owner.tenant.id, 'winter'), {
      messages: 0,
      kind: null,
      recipients: 0,
      delivered: 0,
      reportedMessages: 0,
      reach: 0,
      uniqueClickers: 0,
      unsubscribes: { link: 0, reply: 0, import: 0, support: 0 },
    })
    t.same(await store.variantTotals(owner.tenant.id, 'winter'), [])
  })
})
