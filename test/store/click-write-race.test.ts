/**
 * Two instances writing the same recipient's first click at once, on PostgreSQL: the
 * one that commits second must neither fail nor count the recipient again. SQLite has
 * one writer, so the case does not arise there.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import type { ClickRow } from '../../src/click.js'
import { BurstRule } from '../../src/clicks/burst.js'
import { recordClicks } from '../../src/clicks/click-batch.js'
import { settleSweeps } from '../../src/clicks/settle-sweeps.js'
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

t.test('a batch that lost a race is written once with its id, its sweep fetch on its own raw click', async (t) => {
  const url = await postgresDatabase(t)
  const store = await openPostgresStore(url)
  t.teardown(() => store.close())
  const seed = new Seed(store, 'postgres')
  const recipients = Array.from({ length: 20 }, (_, i) => `r${i}`)
  const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, recipients)
  const [link] = message.links.map((l) => l.id) as [number]
  const judging = new BurstRule({
    tooFastMs: 0,
    burstWindowMs: 10_000,
    maxTokens: 1_000,
    sweep: { minRecipients: 8, spanMs: 20_000, windowMs: 600_000, fastGapMs: 200, maxGapVariation: 0.25 },
  })
  const phone = (at: number, recipientIdx: number): ClickRow => ({
    ...human(at, message.id, link, recipientIdx),
    userAgent: 'Mozilla/5.0 (iPhone)',
    network: '100.64.1.0/24',
  })
  // Recipient 5's tap falls in the sweep rule's window (pending); recipient 0's is
  // judged at once, and races the other instance's first click.
  const batch = [phone(11_000, 5), phone(700_000, 0)]
  const batchId = randomUUID()

  const other = new pg.Client({ connectionString: url })
  await other.connect()
  t.teardown(() => other.end())
  await other.query('BEGIN')
  await other.query('INSERT INTO message_uniques (message_id, recipient_idx, first_at) VALUES ($1, 0, 650000)', [
    message.id,
  ])
  const writing = recordClicks(store, batch, judging, batchId)
  await new Promise((resolve) => setTimeout(resolve, 200))
  await other.query('COMMIT')
  await writing
  // The same batch again, as after a lost reply: already written.
  await recordClicks(store, batch, judging, batchId)

  let counters = await store.messageCounters(message.id)
  t.same(counters.clicks, { total: 1, unique: 0, bots: 0, previews: 0 }, 'recipient 0 was the other instance’s first')
  t.equal(counters.pendingClicks, 1, 'recipient 5’s tap waits for its verdict')
  t.equal((await store.listClicks(message.id, { xid: 0, id: 0 }, 10)).length, 2, 'each raw click stored once')
  const { rows } = await other.query<{ recipient_idx: number }>(
    'SELECT c.recipient_idx FROM sweep_fetches f JOIN clicks c ON c.id = f.click_id',
  )
  t.same(rows, [{ recipient_idx: 5 }], 'the fetch names the pending click’s raw row')

  t.equal(await settleSweeps(store, 11_000 + 20_000 + 1, judging), 1)
  counters = await store.messageCounters(message.id)
  t.same(counters.clicks, { total: 2, unique: 1, bots: 0, previews: 0 }, 'settled as a person: recipient 5 counts')
  t.equal(counters.pendingClicks, 0)
})
