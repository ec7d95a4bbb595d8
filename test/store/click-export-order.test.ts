/**
 * The click export on PostgreSQL, where ids are handed out at insert and committed in
 * any order: a page must never pass over a click that a slower transaction commits
 * later (docs/adr/0073). SQLite has one writer, so the case does not arise there.
 */
import pg from 'pg'
import t, { type Test } from 'tap'
import { recordClicks } from '../../src/clicks/click-batch.js'
import { openPostgresStore } from '../../src/db/postgres/index.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { humanClick as human, Seed } from '../fixtures/store-backends.js'

const FIRST = { xid: 0, id: 0 }

async function connect(t: Test, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

/** A second connection in a transaction that has inserted a click at 21,000 (recipient 1) and stays open. */
async function openTransactionWithClick(t: Test, url: string, messageId: number, linkId: number) {
  const client = await connect(t, url)
  await client.query('BEGIN')
  await client.query(
    `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class) VALUES (21000, $1, $2, 1, 'human')`,
    [messageId, linkId],
  )
  return client
}

async function start(t: Test) {
  const url = await postgresDatabase(t)
  const store = await openPostgresStore(url)
  t.teardown(() => store.close())
  const seed = new Seed(store, 'postgres')
  const message = await seed.message(await seed.tenant(), {}, ['a', 'b', 'c'])
  return { url, store, message, link: message.links[0]!.id }
}

t.test('a click committed after a later one is on the next page, not skipped', async (t) => {
  const { url, store, message, link } = await start(t)
  await recordClicks(store, [human(20_000, message.id, link, 0)])

  // A inserts a click (taking the lower id) and stays open; B inserts one and commits.
  const slow = await openTransactionWithClick(t, url, message.id, link)
  await recordClicks(store, [human(22_000, message.id, link, 2)])

  const page = await store.listClicks(message.id, FIRST, 10)
  t.same(
    page.map((c) => c.at),
    [20_000],
    'only what no running transaction can still come before',
  )

  await slow.query('COMMIT')
  const next = await store.listClicks(message.id, page[0]!, 10)
  t.same(
    next.map((c) => [c.at, c.recipientId]),
    [
      [21_000, 'b'],
      [22_000, 'c'],
    ],
    "A's click, then B's, in commit order",
  )
  t.ok(next[0]!.id < next[1]!.id && next[0]!.xid < next[1]!.xid)
  t.same(await store.listClicks(message.id, next[1]!, 10), [])
})

t.test('a transaction left open in another database does not hold the export back', async (t) => {
  const { store, message, link } = await start(t)
  const elsewhere = await connect(t, await postgresDatabase(t))
  await elsewhere.query('BEGIN')
  await elsewhere.query('SELECT pg_current_xact_id()')
  await recordClicks(store, [human(20_000, message.id, link, 0)])
  t.same(
    (await store.listClicks(message.id, FIRST, 10)).map((c) => c.at),
    [20_000],
  )
  await elsewhere.query('ROLLBACK')
})

t.test('a transaction that rolled back leaves no gap the export waits on', async (t) => {
  const { url, store, message, link } = await start(t)
  const failed = await openTransactionWithClick(t, url, message.id, link)
  await recordClicks(store, [human(22_000, message.id, link, 2)])
  t.same(await store.listClicks(message.id, FIRST, 10), [], 'held back while it runs')
  await failed.query('ROLLBACK')
  t.same(
    (await store.listClicks(message.id, FIRST, 10)).map((c) => c.at),
    [22_000],
  )
})
