import t from 'tap'
import type { NewConversion } from '../../src/db/store.js'
import { forEachBackend } from '../fixtures/store-backends.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('a conversion is stored once and moves the counters once', async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, {}, ['alice', 'bob'])
    const order = (id: string, value: number, currency: string, recipientIdx: number | null): NewConversion => ({
      tenantId: owner.tenant.id,
      id,
      messageId: message.id,
      recipientIdx,
      clickId: recipientIdx === null ? 'cid-9' : null,
      clickAt: 50_000,
      value,
      currency,
      at: 60_000,
    })
    const first = await store.recordConversion(order('order-1', 199.95, 'DKK', 1))
    t.same(first, {
      created: true,
      conversion: {
        id: 'order-1',
        messagePublicId: message.publicId,
        recipientId: 'bob',
        clickId: null,
        clickAt: 50_000,
        value: 199.95,
        currency: 'DKK',
        at: 60_000,
      },
    })
    const again = await store.recordConversion({ ...order('order-1', 5, 'EUR', 0), at: 70_000 })
    t.same(again, { created: false, conversion: first.conversion }, 'the first one, unchanged')
    await store.recordConversion(order('order-2', 0.05, 'DKK', null))
    await store.recordConversion(order('order-3', 10, 'EUR', 0))
    const counters = await store.messageCounters(message.id)
    t.equal(counters.conversions, 3)
    t.equal(counters.revenue.DKK, 200)
    t.equal(counters.revenue.EUR, 10)
    t.same(Object.keys(counters.revenue), ['DKK', 'EUR'])
    t.match(await store.findConversion(owner.tenant.id, 'order-2'), { recipientId: null, clickId: 'cid-9' })
    t.equal(await store.findConversion(owner.tenant.id, 'order-404'), null)
    t.equal(await store.findConversion((await seed.tenant()).tenant.id, 'order-1'), null)
  })

  t.test('the same conversion posted twice at once is counted once', async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, {}, ['alice'])
    const conversion: NewConversion = {
      tenantId: owner.tenant.id,
      id: 'order-x',
      messageId: message.id,
      recipientIdx: 0,
      clickId: null,
      clickAt: 1,
      value: 3,
      currency: 'DKK',
      at: 2,
    }
    const results = await Promise.all([store.recordConversion(conversion), store.recordConversion(conversion)])
    t.same(results.map((r) => r.created).sort(), [false, true])
    t.same((await store.messageCounters(message.id)).revenue, { DKK: 3 })
  })
})
