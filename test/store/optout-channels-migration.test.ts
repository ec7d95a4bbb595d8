import pg from 'pg'
import t, { type Test } from 'tap'
import { migrate, readMigrations } from '../../src/db/migrate.js'
import { openDatabase } from '../../src/db/open.js'
import { openPostgresStore } from '../../src/db/postgres/index.js'
import { migratePostgres, POSTGRES_MIGRATIONS_DIR } from '../../src/db/postgres/migrate.js'
import { SqliteStore } from '../../src/db/sqlite/index.js'
import type { Store } from '../../src/db/store.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { tempDatabasePath } from '../helpers.js'

/** The schema before the migration that brought opt-out channels, found by name so renumbering keeps it. */
const before = (dir?: string) => {
  const migrations = readMigrations(dir)
  return migrations.slice(
    0,
    migrations.findIndex((migration) => migration.name.includes('optout-channels')),
  )
}

/** Rows as an older version left them: a link opt-out whose id a sender holds as its cursor. */
const OLD_ROWS = [
  "INSERT INTO tenants (id, public_id, name, created_at) VALUES (1, 'ten_1', 'Shop', 0)",
  "INSERT INTO domains (id, tenant_id, host, base_url, created_at) VALUES (1, 1, 's.shop.dk', 'https://s.shop.dk', 0)",
  "INSERT INTO messages (id, public_id, tenant_id, domain_id, kind, recipient_count, created_at) VALUES (1, 'msg_1', 1, 1, 'campaign', 2, 0)",
  "INSERT INTO recipients (message_id, idx, external_id, unsubscribed_at) VALUES (1, 0, 'a', 500), (1, 1, 'b', NULL)",
  'INSERT INTO message_counters (message_id, unsubscribes) VALUES (1, 1)',
  "INSERT INTO optouts (id, tenant_id, recipient_id, message_id, at) VALUES (7, 1, 'a', 1, 500)",
]

async function afterMigration(t: Test, store: Store) {
  t.same(await store.optedOutRecipients(1, ['a', 'b']), new Set(['a']), 'still suppressed')
  const page = await store.listOptOuts(1, 0, 10)
  t.same(page.optOuts, [{ recipientId: 'a', change: 'optout', source: 'link', messagePublicId: 'msg_1', at: 500 }])
  t.equal(page.last, 7, 'the opt-out keeps its id: cursors given out before stay valid')
  t.same((await store.messageCounters(1)).unsubscribes.bySource, { link: 1, reply: 0, import: 0, support: 0 })
  await store.recordOptOuts([
    {
      tenantId: 1,
      recipientId: 'b',
      source: 'reply',
      at: 600,
      message: { messageId: 1, publicId: 'msg_1', recipientIdx: 1 },
      events: [],
    },
  ])
  const next = await store.listOptOuts(1, 7, 10)
  t.same(
    next.optOuts.map((o) => [o.recipientId, o.source]),
    [['b', 'reply']],
    'a new opt-out comes after the old cursor',
  )
}

t.test('SQLite: link opt-outs made before join the feed with their ids', async (t) => {
  const path = tempDatabasePath(t)
  const db = openDatabase(path)
  migrate(db, before())
  for (const sql of OLD_ROWS) db.exec(sql)
  db.close()
  const store = SqliteStore.open(path)
  t.teardown(() => store.close())
  await afterMigration(t, store)
})

t.test('PostgreSQL: link opt-outs made before join the feed with their ids', async (t) => {
  const url = await postgresDatabase(t)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  await migratePostgres(pool, before(POSTGRES_MIGRATIONS_DIR))
  for (const sql of OLD_ROWS) await pool.query(sql)
  await pool.end()
  const store = await openPostgresStore(url)
  t.teardown(() => store.close())
  await afterMigration(t, store)
})
