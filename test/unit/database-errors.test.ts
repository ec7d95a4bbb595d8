import t from 'tap'
import Database from 'better-sqlite3'
import pg from 'pg'
import { isDatabaseUnavailable, isStatementRefused } from '../../src/db/database-errors.js'
import { openPostgresStore } from '../../src/db/postgres/index.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { freePort } from '../fixtures/server-process.js'

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a failure')
}

t.test('the errors of a server that is not there are "unavailable", not "refused"', async (t) => {
  const port = await freePort()
  const opening = await failure(openPostgresStore(`postgres://u:p@127.0.0.1:${port}/x`))
  t.ok(isDatabaseUnavailable(opening), 'opening the store')
  const pool = new pg.Pool({ connectionString: `postgres://u:p@127.0.0.1:${port}/x` })
  t.teardown(() => pool.end())
  const query = await failure(pool.query('SELECT 1'))
  t.ok(isDatabaseUnavailable(query), 'a query on a pool')
  t.notOk(isStatementRefused(query))
})

t.test('a connection the server ends is "unavailable"', async (t) => {
  const url = await postgresDatabase(t)
  const victim = new pg.Client({ connectionString: url })
  victim.on('error', () => undefined)
  await victim.connect()
  const pid = ((await victim.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }).pid
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  t.teardown(() => admin.end())
  await admin.query('SELECT pg_terminate_backend($1)', [pid])
  const ended = await failure(victim.query('SELECT 1'))
  t.ok(isDatabaseUnavailable(ended), String(ended))
  t.notOk(isStatementRefused(ended))
})

t.test('a statement the database refuses for what it holds is "refused", not "unavailable"', async (t) => {
  const client = new pg.Client({ connectionString: await postgresDatabase(t) })
  await client.connect()
  t.teardown(() => client.end())
  await client.query('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)')
  await client.query('INSERT INTO t VALUES (1, 1)')
  for (const sql of [
    'INSERT INTO t VALUES (1, 2)',
    'INSERT INTO t VALUES (2, NULL)',
    "SELECT 'x'::int",
    'SELECT nope FROM t',
  ]) {
    const err = await failure(client.query(sql))
    t.ok(isStatementRefused(err), sql)
    t.notOk(isDatabaseUnavailable(err), sql)
  }

  const db = new Database(':memory:')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)')
  db.exec('INSERT INTO t VALUES (1)')
  const sqlite = await failure((async () => db.exec('INSERT INTO t VALUES (1)'))())
  t.ok(isStatementRefused(sqlite), 'a SQLite constraint')
  t.notOk(isStatementRefused(new Error('SQLITE_BUSY: database is locked')), 'a busy SQLite is not refused')
})
