import t from 'tap'
import type { Message } from '../../src/db/store.js'
import { forEachBackend, type Seed } from '../fixtures/store-backends.js'

/** A tenant with a webhook for unsubscribes and one pending event (from an opt-out at `at`). */
async function webhookWithEvent(seed: Seed, at: number) {
  const owner = await seed.tenant()
  const webhook = await seed.store.createWebhook({
    publicId: seed.unique('wh_'),
    tenantId: owner.tenant.id,
    url: 'https://hooks.shop.dk/in',
    events: ['unsubscribe', 'click'],
    secret: 'whsec_1',
    createdAt: 5,
  })
  const message: Message = await seed.message(owner, {}, ['alice'])
  await seed.optOut(message, 0, at)
  const [event] = (await seed.store.dueWebhookEvents(at, 1000)).filter((e) => e.webhookId === webhook.id)
  return { owner, webhook, message, event: event! }
}

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('webhooks are listed oldest first, found by public id, gone once deleted', async (t) => {
    const owner = await seed.tenant()
    const a = await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://a.dk',
      events: ['click'],
      secret: 's1',
      createdAt: 1,
    })
    const b = await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://b.dk',
      events: ['click', 'unsubscribe'],
      secret: 's2',
      createdAt: 2,
    })
    t.same(a, {
      id: a.id,
      publicId: a.publicId,
      tenantId: owner.tenant.id,
      url: 'https://a.dk',
      events: ['click'],
      createdAt: 1,
    })
    t.same(await store.listWebhooks(owner.tenant.id), [a, b])
    t.same(await store.getWebhook(owner.tenant.id, b.publicId), b)
    const other = await seed.tenant()
    t.equal(await store.getWebhook(other.tenant.id, b.publicId), null)
    t.equal(await store.deleteWebhook(other.tenant.id, b.publicId, 3), false)
    t.equal(await store.deleteWebhook(owner.tenant.id, b.publicId, 3), true)
    t.equal(await store.deleteWebhook(owner.tenant.id, b.publicId, 4), false, 'already deleted')
    t.same(await store.listWebhooks(owner.tenant.id), [a])
    t.equal(await store.getWebhook(owner.tenant.id, b.publicId), null)
  })

  t.test('an attempt moves the event on: retried later, then delivered', async (t) => {
    const { webhook, event } = await webhookWithEvent(seed, 80_000)
    await store.recordWebhookAttempt({
      eventId: event.id,
      webhookId: webhook.id,
      at: 80_001,
      statusCode: 503,
      error: 'HTTP 503',
      outcome: 'retrying',
      nextAttemptAt: 90_000,
    })
    const due = (when: number) => store.dueWebhookEvents(when, 1000).then((e) => e.filter((x) => x.id === event.id))
    t.same(await due(89_999), [], 'not due before its retry time')
    const [retry] = await due(90_000)
    t.equal(retry?.attempts, 1)
    t.equal(retry?.body, event.body, 'the same body on every attempt')
    await store.recordWebhookAttempt({
      eventId: event.id,
      webhookId: webhook.id,
      at: 90_001,
      statusCode: 204,
      error: null,
      outcome: 'delivered',
      nextAttemptAt: null,
    })
    t.same(await due(1e12), [])
    t.same(await store.webhookAttempts(webhook.id, 10), [
      {
        eventPublicId: event.publicId,
        type: 'unsubscribe',
        attempt: 2,
        at: 90_001,
        statusCode: 204,
        error: null,
        outcome: 'delivered',
      },
      {
        eventPublicId: event.publicId,
        type: 'unsubscribe',
        attempt: 1,
        at: 80_001,
        statusCode: 503,
        error: 'HTTP 503',
        outcome: 'retrying',
      },
    ])
    t.equal((await store.webhookAttempts(webhook.id, 1)).length, 1)
  })

  t.test('a failed event is never due again', async (t) => {
    const { webhook, event } = await webhookWithEvent(seed, 81_000)
    await store.recordWebhookAttempt({
      eventId: event.id,
      webhookId: webhook.id,
      at: 81_001,
      statusCode: null,
      error: 'timeout',
      outcome: 'failed',
      nextAttemptAt: null,
    })
    t.same(
      (await store.dueWebhookEvents(1e12, 1000)).filter((e) => e.id === event.id),
      [],
    )
  })

  t.test('deleting a webhook cancels its pending events, even one in flight', async (t) => {
    const { owner, webhook, event } = await webhookWithEvent(seed, 82_000)
    const pending = await store.pendingWebhookEvents()
    t.equal(await store.deleteWebhook(owner.tenant.id, webhook.publicId, 82_001), true)
    t.equal(await store.pendingWebhookEvents(), pending - 1)
    // The attempt that was under way when the webhook went reports back afterwards.
    await store.recordWebhookAttempt({
      eventId: event.id,
      webhookId: webhook.id,
      at: 82_002,
      statusCode: 500,
      error: 'HTTP 500',
      outcome: 'retrying',
      nextAttemptAt: 83_000,
    })
    t.equal(await store.pendingWebhookEvents(), pending - 1, 'stays cancelled')
    t.same(
      (await store.dueWebhookEvents(1e12, 1000)).filter((e) => e.id === event.id),
      [],
    )
  })

  t.test('due events come oldest first, at most limit', async (t) => {
    await webhookWithEvent(seed, 1)
    await webhookWithEvent(seed, 2)
    const due = await store.dueWebhookEvents(2, 1)
    t.equal(due.length, 1)
    t.equal(due[0]!.createdAt, 1)
  })

  t.test("due events carry their tenant; skipped tenants' events are left out", async (t) => {
    const a = await webhookWithEvent(seed, 3)
    const b = await webhookWithEvent(seed, 3)
    const mine = (events: Array<{ webhookId: number; tenantId: number }>) =>
      events.filter((e) => e.webhookId === a.webhook.id || e.webhookId === b.webhook.id)
    const all = mine(await store.dueWebhookEvents(3, 1000))
    t.same(
      all.map((e) => [e.webhookId, e.tenantId]),
      [
        [a.webhook.id, a.owner.tenant.id],
        [b.webhook.id, b.owner.tenant.id],
      ],
    )
    t.same(
      mine(await store.dueWebhookEvents(3, 1000, [a.owner.tenant.id])).map((e) => e.webhookId),
      [b.webhook.id],
    )
    t.same(mine(await store.dueWebhookEvents(3, 1000, [b.owner.tenant.id, a.owner.tenant.id])), [])
    t.same(mine(await store.dueWebhookEvents(3, 1000, [])).length, 2)
  })

  t.test("subscriptions: each tenant's live webhooks for a type, in id order", async (t) => {
    const owner = await seed.tenant()
    const other = await seed.tenant()
    const make = (tenantId: number, events: Array<'click' | 'unsubscribe'>) =>
      store.createWebhook({
        publicId: seed.unique('wh_'),
        tenantId,
        url: 'https://hooks.shop.dk/in',
        events,
        secret: 'whsec_1',
        createdAt: 5,
      })
    const w1 = await make(owner.tenant.id, ['click'])
    const w2 = await make(owner.tenant.id, ['unsubscribe', 'click'])
    const w3 = await make(owner.tenant.id, ['unsubscribe'])
    const w4 = await make(other.tenant.id, ['click'])
    let clicks = await store.subscribedWebhooks('click')
    t.same(clicks.get(owner.tenant.id), [w1.id, w2.id])
    t.same(clicks.get(other.tenant.id), [w4.id])
    t.same((await store.subscribedWebhooks('unsubscribe')).get(owner.tenant.id), [w2.id, w3.id])
    t.equal((await store.subscribedWebhooks('unsubscribe')).has(other.tenant.id), false)
    await store.deleteWebhook(owner.tenant.id, w1.publicId, 6)
    await store.deleteWebhook(other.tenant.id, w4.publicId, 6)
    clicks = await store.subscribedWebhooks('click')
    t.same(clicks.get(owner.tenant.id), [w2.id])
    t.equal(clicks.has(other.tenant.id), false)
  })
})
