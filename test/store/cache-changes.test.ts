import t from 'tap'
import { PostgresStore } from '../../src/db/postgres/index.js'
import type { CacheChange, Store } from '../../src/db/store.js'
import { eventually } from '../fixtures/webhook-receiver.js'
import { forEachBackend, openSameDatabase } from '../fixtures/store-backends.js'

/** Every change committed after `position`, read page by page. */
async function changesAfter(store: Store, position: string): Promise<CacheChange[]> {
  const all: CacheChange[] = []
  for (;;) {
    const page = await store.cacheChangesAfter(position, 2)
    all.push(...page.changes)
    if (page.changes.length === 0) return all
    position = page.position
  }
}

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('each change to something cached is recorded with what it names', async (t) => {
    const head = await store.cacheChangeHead()
    const owner = await seed.tenant()
    const domain = owner.domain
    await store.setDomainFallback(owner.tenant.id, domain.host, 'https://shop.dk/over')
    await store.setAllowedHosts(owner.tenant.id, ['shop.dk'])
    const message = await seed.message(owner, {}, ['alice', 'bob'])
    const webhook = await store.createWebhook({
      publicId: seed.unique('wh_'),
      tenantId: owner.tenant.id,
      url: 'https://hooks.shop.dk/in',
      events: ['click'],
      secret: 'whsec_1',
      createdAt: 5,
    })
    await store.deleteWebhook(owner.tenant.id, webhook.publicId, 6)
    await store.eraseRecipientFromMessage(message.id, 'bob', 'erased_x')
    t.same(await changesAfter(store, head), [
      { kind: 'domain', key: String(domain.id) },
      { kind: 'domain', key: String(domain.id) },
      { kind: 'allowed_hosts', key: String(owner.tenant.id) },
      { kind: 'link', key: `${domain.id}/${message.links[0]!.code}` },
      { kind: 'link', key: `${domain.id}/${message.links[1]!.code}` },
      { kind: 'webhooks', key: String(owner.tenant.id) },
      { kind: 'webhooks', key: String(owner.tenant.id) },
      { kind: 'recipient', key: `${message.id}/1` },
    ])
    t.same(await store.getDomain(domain.id), { ...domain, fallbackUrl: 'https://shop.dk/over' })
    t.equal(await store.getDomain(domain.id + 1000), null)
  })

  t.test('a change that does not happen records nothing', async (t) => {
    const owner = await seed.tenant()
    const head = await store.cacheChangeHead()
    await t.rejects(store.addDomain(owner.tenant.id, owner.domain.host, 'https://x', 1), 'the host is taken')
    t.equal(await store.setDomainFallback(owner.tenant.id, 'nowhere.dk', null), null)
    await store.eraseRecipientFromMessage((await seed.message(owner)).id, 'nobody', 'erased_y')
    t.same(
      (await changesAfter(store, head)).filter((change) => change.kind !== 'link'),
      [],
      'only the links of the message made for the test',
    )
  })

  t.test('a position read up to returns nothing more until something changes', async (t) => {
    const owner = await seed.tenant()
    const page = await store.cacheChangesAfter(await store.cacheChangeHead(), 100)
    t.same(page.changes, [])
    await store.setAllowedHosts(owner.tenant.id, [])
    const next = await store.cacheChangesAfter(page.position, 100)
    t.same(next.changes, [{ kind: 'allowed_hosts', key: String(owner.tenant.id) }])
    t.same((await store.cacheChangesAfter(next.position, 100)).changes, [])
  })

  t.test('a watch hands over what another connection commits, within a second', async (t) => {
    const other = await openSameDatabase(t, store)
    const seen: CacheChange[] = []
    const watch = store.watchCacheChanges({ changes: (changes) => seen.push(...changes), lost: () => undefined })
    t.teardown(() => watch.close())
    const owner = await seed.tenant()
    // The first change only shows the watch is under way (PostgreSQL: listening).
    await other.setAllowedHosts(owner.tenant.id, ['a.dk'])
    await eventually(t, 'the watch under way', () => seen.some((c) => c.kind === 'allowed_hosts'))
    await other.setDomainFallback(owner.tenant.id, owner.domain.host, 'https://shop.dk/gone')
    await eventually(
      t,
      'the fallback change seen within a second',
      () => seen.some((c) => c.kind === 'domain' && c.key === String(owner.domain.id)),
      1_000,
    )
    await watch.close()
    await other.setAllowedHosts(owner.tenant.id, [])
    await new Promise((resolve) => setTimeout(resolve, 600))
    t.equal(seen.filter((c) => c.kind === 'allowed_hosts').length, 1, 'a closed watch hands over nothing more')
  })

  t.test('PostgreSQL: a watch whose connection breaks reconnects, says so, and misses nothing', async (t) => {
    if (!(store instanceof PostgresStore)) {
      t.pass('SQLite reads the file: no connection of its own to lose')
      return
    }
    const seen: CacheChange[] = []
    let lost = 0
    const watch = store.watchCacheChanges({ changes: (changes) => seen.push(...changes), lost: () => lost++ })
    t.teardown(() => watch.close())
    await watch.started
    const owner = await seed.tenant()
    const { rows } = await store.pool.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
    )
    t.equal(rows[0]!.n, 1, 'the listening connection is cut')
    // Made while nobody listens: no notification reaches the watch.
    await store.setAllowedHosts(owner.tenant.id, ['cut.dk'])
    await eventually(t, 'the watch says it lost track', () => lost === 1)
    await eventually(t, 'and hands over the change made meanwhile', () =>
      seen.some((c) => c.kind === 'allowed_hosts' && c.key === String(owner.tenant.id)),
    )
    await store.setDomainFallback(owner.tenant.id, owner.domain.host, 'https://shop.dk/after')
    await eventually(
      t,
      'listening again',
      () => seen.some((c) => c.kind === 'domain' && c.key === String(owner.domain.id)),
      1_000,
    )
  })

  t.test('old changes are pruned, newer ones kept', async (t) => {
    const owner = await seed.tenant()
    const head = await store.cacheChangeHead()
    await store.setAllowedHosts(owner.tenant.id, ['a.dk'])
    t.equal(await store.pruneCacheChanges(Date.now() - 60_000, 1000), 0, 'nothing is that old')
    t.ok((await store.pruneCacheChanges(Date.now() + 1, 1000)) >= 1)
    t.same(await changesAfter(store, head), [])
  })
})
