import t from 'tap'
import { forEachBackend } from '../fixtures/store-backends.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('confirming counts once, keeps the first opt-out, queues one event per subscribed webhook', async (t) => {
    const owner = await seed.tenant()
    const hook = await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://hooks.shop.dk/in',
      events: ['unsubscribe'],
      secret: 'whsec_x',
      createdAt: 1,
    })
    await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://hooks.shop.dk/clicks',
      events: ['click'],
      secret: 'whsec_y',
      createdAt: 1,
    })
    const first = await seed.message(owner, {}, ['alice', 'bob'])
    const second = await seed.message(owner, {}, ['alice'])
    const pendingBefore = await store.pendingWebhookEvents()

    t.same(await store.optOut(first.id, 0, 50_000), { recipientId: 'alice', confirmedNow: true })
    t.same(await store.optOut(first.id, 0, 51_000), { recipientId: 'alice', confirmedNow: false })
    t.same(await store.optOut(second.id, 0, 52_000), { recipientId: 'alice', confirmedNow: true })
    t.equal(await store.optOut(first.id, 7, 53_000), null, 'no such recipient')

    t.equal((await store.messageCounters(first.id)).unsubscribes.confirmed, 1)
    t.equal((await store.messageCounters(second.id)).unsubscribes.confirmed, 1)
    const page = await store.listOptOuts(owner.tenant.id, 0, 10)
    t.same(page.optOuts, [{ recipientId: 'alice', messagePublicId: first.publicId, at: 50_000 }], 'first time wins')
    t.same(await store.optedOutRecipients(owner.tenant.id, ['alice', 'bob', 'carol']), new Set(['alice']))
    t.same(await store.optedOutRecipients((await seed.tenant()).tenant.id, ['alice']), new Set())
    t.same(await store.optedOutRecipients(owner.tenant.id, []), new Set())

    t.equal(
      await store.pendingWebhookEvents(),
      pendingBefore + 2,
      'one event per confirmation, none for the click hook',
    )
    const due = (await store.dueWebhookEvents(60_000, 1000)).filter((e) => e.webhookId === hook.id)
    t.equal(due.length, 2)
    t.match(JSON.parse(due[0]!.body), {
      id: due[0]!.publicId,
      type: 'unsubscribe',
      time: new Date(50_000).toISOString(),
      messageId: first.publicId,
      recipientId: 'alice',
      link: null,
      click: null,
    })
    t.match(due[0], { url: 'https://hooks.shop.dk/in', secret: 'whsec_x', attempts: 0, createdAt: 50_000 })
  })

  t.test('the opt-out feed pages by an opaque cursor, oldest first', async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, {}, ['r0', 'r1', 'r2', 'r3', 'r4'])
    for (let i = 0; i < 5; i++) await store.optOut(message.id, i, 60_000 + i)
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
    await Promise.all(ids.map((_, i) => store.optOut(message.id, i, 70_000)))
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
