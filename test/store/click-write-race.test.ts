/**
 * Two instances writing the same recipient's first click at once, on PostgreSQL: the
 * one that commits second must neither fail nor count the recipient again. SQLite has
 * one writer, so the case does not arise there.
 */
import pg from 'pg'
import t from 'tap'
import { recordClicks } from '../../src/clicks/click-batch.js'
import { openPostgresStore } from '../../src/db/postgres/index.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { humanClick as human, Seed } from '../fixtures/store-backends.js'

t.test('a first click another transaction stores meanwhile is counted once', async (t) => {
  const url = await postgresDatabase(t)
  const store = await openPostgresStore(url)
  t.teardown(() => store.close())
  const seed = new Seed(store, 'postgres')
  const message = await seed.message(await seed.tenant(), {}, ['a', 'b'])
  const [first, second] = message.links.map((link) => link.id) as [number, number]

  // The other instance: its first click of recipient 0, on the message and on the
  // first link, inserted but not yet committed.
  const other = new pg.Client({ connectionString: url })
  await other.connect()
  t.teardown(() => other.end())
  await other.query('BEGIN')
  await other.query('INSERT INTO message_uniques (message_id, recipient_idx, first_at) VALUES ($1, 0, 20000)', [
    message.id,
  ])
  await other.query('INSERT INTO link_uniques (link_id, recipient_idx, first_at) VALUES ($1, 0, 20000)', [first])

  const writing = recordClicks(store, [
    human(21_000, message.id, first, 0),
    human(21_500, message.id, second, 0),
    human(22_000, message.id, first, 1),
  ])
  // The batch now waits on the other transaction's keys; it commits.
  await new Promise((resolve) => setTimeout(resolve, 200))
  await other.query('COMMIT')
  await writing

  const counters = await store.messageCounters(message.id)
  t.equal(counters.clicks.total, 3, 'every click stored')
  t.equal(counters.clicks.unique, 1, 'recipient 1 only: recipient 0 was the other instance’s first')
  t.same(
    counters.links.map((link) => link.clicks.unique),
    [1, 1],
    'first link: recipient 1; second link: recipient 0, whose first click there this was',
  )
  t.equal(await store.lastHumanClick(message.id, 0), 21_500, 'its later clicks still move the last click')
  t.equal((await store.listClicks(message.id, { xid: 0, id: 0 }, 10)).length, 3)
})
