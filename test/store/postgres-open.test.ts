import pg from 'pg'
import t from 'tap'
import { DatabaseTooNewError } from '../../src/db/migrate.js'
import { openPostgresStore, PostgresUnavailableError } from '../../src/db/postgres/index.js'
import { migratePostgres } from '../../src/db/postgres/migrate.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { freePort } from '../fixtures/server-process.js'

t.test('instances starting together apply each migration exactly once', async (t) => {
  const url = await postgresDatabase(t)
  const migrations = [
    { version: 1, name: '001-a.sql', sql: 'CREATE TABLE a (n INTEGER); INSERT INTO a VALUES (1);' },
    { version: 2, name: '002-b.sql', sql: 'INSERT INTO a VALUES (2);' },
  ]
  const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: url, max: 1 }))
  t.teardown(() => Promise.all(pools.map((pool) => pool.end())))
  const applied = await Promise.all(pools.map((pool) => migratePostgres(pool, migrations)))
  t.same(applied.flat().sort(), [1, 2], 'between them, each version applied by one')
  const rows = await pools[0]!.query('SELECT n FROM a ORDER BY n')
  t.same(
    rows.rows.map((r) => r.n),
    [1, 2],
  )
  const recorded = await pools[0]!.query('SELECT version, name FROM schema_migrations ORDER BY version')
  t.same(recorded.rows, [
    { version: 1, name: '001-a.sql' },
    { version: 2, name: '002-b.sql' },
  ])
  t.same(await migratePostgres(pools[0]!, migrations), [], 'a restart applies nothing')
  await t.rejects(migratePostgres(pools[0]!, migrations.slice(0, 1)), DatabaseTooNewError, 'older code is refused')
})

t.test('a failing migration leaves nothing behind', async (t) => {
  const url = await postgresDatabase(t)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  t.teardown(() => pool.end())
  await t.rejects(
    migratePostgres(pool, [{ version: 1, name: '001-bad.sql', sql: 'CREATE TABLE ok (n INTEGER); SELECT nope;' }]),
  )
  const tables = await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
  t.same(tables.rows, [])
})

t.test('the shipped migrations open a store twice on one database', async (t) => {
  const url = await postgresDatabase(t)
  const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const tenant = await a.createTenant('ten_both', 'Both', 1)
  t.same(await b.getTenant('ten_both'), tenant)
})

t.test('an unreachable server is named in one line, without its password', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const port = await freePort()
  const error = await openPostgresStore(`postgres://smslinks:hunter2secret@127.0.0.1:${port}/smslinks`).then(
    () => new Error('connected'),
    (err: unknown) => err as Error,
  )
  t.type(error, PostgresUnavailableError)
  t.match(
    error.message,
    new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/smslinks: .*ECONNREFUSED`),
  )
  t.notMatch(error.message, /hunter2secret/)
  t.notMatch(error.message, /\n/)
})
