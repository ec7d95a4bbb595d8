import t from 'tap'
import { forEachBackend, insertRows, queryRows } from '../fixtures/store-backends.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('raw clicks older than the cutoff go, oldest first, at most limit', async (t) => {
    const message = await seed.message(await seed.tenant(), {}, ['a'])
    const link = message.links[0]!.id
    const click = (at: number) => [at, message.id, link, 0, 'human']
    await insertRows(
      store,
      'INSERT INTO clicks (at, message_id, link_id, recipient_idx, class) VALUES (?, ?, ?, ?, ?)',
      [click(3), click(1), click(2), click(10)],
    )
    t.equal(await store.deleteClicksBefore(5, 2), 2)
    // Read directly: listClicks on PostgreSQL holds back rows above the commit horizon,
    // which other databases' transactions on the same server can lower for a moment.
    const left = await queryRows<{ at: number }>(store, 'SELECT at FROM clicks WHERE message_id = ? ORDER BY at', [
      message.id,
    ])
    t.same(
      left.map((c) => Number(c.at)),
      [3, 10],
      'the two oldest went',
    )
    t.equal(await store.deleteClicksBefore(5, 10), 1)
    t.equal(await store.deleteClicksBefore(5, 10), 0)
  })

  t.test('finished outbox rows older than the cutoff go; pending ones stay', async (t) => {
    const owner = await seed.tenant()
    const webhook = await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://h.dk',
      events: ['unsubscribe'],
      secret: 's',
      createdAt: 1,
    })
    const message = await seed.message(owner, {}, ['a', 'b'])
    await seed.optOut(message, 0, 100)
    await seed.optOut(message, 1, 100)
    const [done, waiting] = (await store.dueWebhookEvents(100, 1000)).filter((e) => e.webhookId === webhook.id)
    await store.recordWebhookAttempt({
      eventId: done!.id,
      webhookId: webhook.id,
      at: 101,
      statusCode: 200,
      error: null,
      outcome: 'delivered',
      nextAttemptAt: null,
    })
    await store.recordWebhookAttempt({
      eventId: waiting!.id,
      webhookId: webhook.id,
      at: 102,
      statusCode: 500,
      error: 'HTTP 500',
      outcome: 'retrying',
      nextAttemptAt: 200,
    })
    const pending = await store.pendingWebhookEvents()
    // Two attempts and the delivered event; other tests' rows are all newer than 1000.
    t.equal(await store.pruneWebhookOutbox(1_000, 100), 3)
    t.equal(await store.pendingWebhookEvents(), pending, 'the pending event stays')
    t.same(await store.webhookAttempts(webhook.id, 10), [])
    t.same(
      (await store.dueWebhookEvents(1e12, 1000)).map((e) => e.id).filter((id) => id === waiting!.id),
      [waiting!.id],
    )
  })

  t.test('erasing a recipient: tombstone per message, traces re-keyed or removed', async (t) => {
    const owner = await seed.tenant()
    await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://h.dk',
      events: ['unsubscribe'],
      secret: 's',
      createdAt: 1,
    })
    const first = await seed.message(owner, {}, ['erin', 'frank'])
    const second = await seed.message(owner, {}, ['erin'])
    await seed.message(await seed.tenant(), {}, ['erin'])
    await seed.optOut(first, 1, 5_000) // frank first: erin's opt-out is not the first row
    await seed.optOut(first, 0, 5_001)
    await insertRows(
      store,
      `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, network, click_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [[5_002, first.id, first.links[0]!.id, 0, 'human', '192.0.2.0/24', 'cid-erin']],
    )
    const feedBefore = await store.listOptOuts(owner.tenant.id, 0, 10)

    t.same(await store.messagesWithRecipient(owner.tenant.id, 'erin'), [first.id, second.id])
    t.equal(await store.hasErasedOptOuts(owner.tenant.id), false)
    for (const id of [first.id, second.id]) await store.eraseRecipientFromMessage(id, 'erin', `erased-${id}`)
    await store.eraseRecipientFromMessage(first.id, 'nobody', 'x')
    t.same(await store.messagesWithRecipient(owner.tenant.id, 'erin'), [])
    t.equal(await store.recipientIndexOf(first.id, `erased-${first.id}`), 0)
    t.equal(await store.findClick('cid-erin'), null, 'the click lost its click id')
    t.equal((await store.listClicks(first.id, { xid: 0, id: 0 }, 10)).length, 1, 'the click itself stays')

    t.equal(await store.eraseRecipientTraces(owner.tenant.id, 'erin', 'erased:k1'), true)
    t.equal(await store.eraseRecipientTraces(owner.tenant.id, 'erin', 'erased:k1'), false, 'nothing left')
    t.equal(await store.hasErasedOptOuts(owner.tenant.id), true)
    t.same(
      await store.optOutsAmong(owner.tenant.id, ['erin', 'erased:k1', 'nobody-listed']),
      { optedOut: new Set(['erased:k1']), erased: true },
      'the key is on the list under its own name, and says the tenant has erased recipients',
    )
    t.same(await store.optOutsAmong(owner.tenant.id, []), { optedOut: new Set(), erased: true })
    const feedAfter = await store.listOptOuts(owner.tenant.id, 0, 10)
    t.same(
      feedAfter.optOuts.map((o) => o.recipientId),
      ['frank', 'erased:k1'],
      'same rows, same order',
    )
    t.equal(feedAfter.last, feedBefore.last, 'same cursor')
    const bodies = (await store.dueWebhookEvents(1e12, 1000)).map((e) => JSON.parse(e.body).recipientId)
    t.notOk(bodies.includes('erin'), 'no outbox event names her')
    t.ok(bodies.includes('frank'))
  })
})
