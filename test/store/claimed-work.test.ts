import t from 'tap'
import { forEachBackend, openSameDatabase, type Seed } from '../fixtures/store-backends.js'

/** A tenant with a webhook and `n` pending unsubscribe events, due at `at`. */
async function pendingEvents(seed: Seed, n: number, at: number) {
  const owner = await seed.tenant()
  const webhook = await seed.store.createWebhook({
    publicId: seed.unique('wh_'),
    tenantId: owner.tenant.id,
    url: 'https://hooks.shop.dk/in',
    events: ['unsubscribe'],
    secret: 'whsec_1',
    createdAt: 1,
  })
  const recipients = Array.from({ length: n }, (_, i) => `r${i}`)
  const message = await seed.message(owner, {}, recipients)
  for (let i = 0; i < n; i++) await seed.optOut(message, i, at)
  return { owner, webhook }
}

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('a claimed event is not due to anyone until its lease ends or it is given back', async (t) => {
    const { owner, webhook } = await pendingEvents(seed, 2, 1_000)
    const mine = <T extends { webhookId: number }>(events: T[]) => events.filter((e) => e.webhookId === webhook.id)
    const others = [...(await store.dueWebhookEvents(1_000, 1000))]
      .filter((e) => e.webhookId !== webhook.id)
      .map((e) => e.tenantId)
    const claimed = mine(await store.claimWebhookEvents(1_000, 50_000, 1, others))
    t.equal(claimed.length, 1, 'at most limit')
    t.equal(claimed[0]!.tenantId, owner.tenant.id)
    const due = mine(await store.dueWebhookEvents(49_999, 1000))
    t.equal(due.length, 1, 'only the other event is due while the lease holds')
    t.not(due[0]!.id, claimed[0]!.id)
    t.same(
      mine(await store.dueWebhookEvents(50_000, 1000))
        .map((e) => e.id)
        .sort(),
      [claimed[0]!.id, due[0]!.id].sort(),
      'due again when the lease ends (an instance that died with it)',
    )
    await store.releaseWebhookEvents([claimed[0]!.id], 40_000, 2_000)
    t.equal(mine(await store.dueWebhookEvents(2_000, 1000)).length, 1, 'another lease is not given back')
    await store.releaseWebhookEvents([claimed[0]!.id], 50_000, 2_000)
    t.equal(mine(await store.dueWebhookEvents(2_000, 1000)).length, 2, 'given back: due at once')
  })

  t.test('two instances claiming at once never get the same event', async (t) => {
    const other = await openSameDatabase(t, store)
    const { webhook } = await pendingEvents(seed, 40, 3_000)
    const skip = (await store.dueWebhookEvents(3_000, 10_000))
      .filter((e) => e.webhookId !== webhook.id)
      .map((e) => e.tenantId)
    const rounds = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).claimWebhookEvents(3_000, 90_000, 7, skip)),
    )
    const ids = rounds.flat().map((e) => e.id)
    t.equal(new Set(ids).size, ids.length, 'no event claimed twice')
    t.equal(ids.length, 40, 'every event claimed by someone')
  })

  t.test('a job runs alone across instances', async (t) => {
    const other = await openSameDatabase(t, store)
    let release!: () => void
    const holding = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    const first = store.runExclusive('prune', async () => {
      started()
      await holding
    })
    await running
    const second = await other.runExclusive('prune', async () => undefined)
    const otherJob = await other.runExclusive('another job', async () => undefined)
    release()
    t.equal(await first, true)
    t.equal(otherJob, true, 'another name is not held')
    if (seed.backend === 'postgres') {
      t.equal(second, false, 'skipped while the first instance runs it')
    } else {
      t.equal(second, true, 'SQLite has one writer: each process runs it')
    }
    t.equal(await other.runExclusive('prune', async () => undefined), true, 'free again once it ended')
    await t.rejects(
      store.runExclusive('prune', async () => Promise.reject(new Error('boom'))),
      /boom/,
    )
    t.equal(await other.runExclusive('prune', async () => undefined), true, 'a failed run lets go too')
  })
})
