import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { migrate, readMigrations } from '../../src/db/migrate.js'
import { openDatabase } from '../../src/db/open.js'
import { tempDatabasePath } from '../helpers.js'

t.test('a new database is migrated to the newest schema with its pragmas', async (t) => {
  const path = tempDatabasePath(t)
  const db = openDatabase(path)
  t.same(
    migrate(db),
    readMigrations().map((m) => m.version),
  )
  t.equal(db.pragma('user_version', { simple: true }), readMigrations().length)
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('foreign_keys', { simple: true }), 1)
  t.same(migrate(db), [], 'nothing to do the second time')
  db.close()
})

t.test('the service refuses a database newer than its code', async (t) => {
  const path = tempDatabasePath(t)
  const db = openDatabase(path)
  migrate(db)
  db.pragma(`user_version = ${readMigrations().length + 1}`)
  db.close()
  const config = loadConfig({ DATABASE_PATH: path, LOG_LEVEL: 'silent', ADMIN_TOKEN: 'x'.repeat(20) })
  await t.rejects(buildApp(config), { name: 'DatabaseTooNewError', message: /newer smslinks/ })
})

t.test('a failing migration leaves the database as it was', async (t) => {
  const path = tempDatabasePath(t)
  const db = openDatabase(path)
  const shipped = readMigrations()
  const next = shipped.length + 1
  const broken = [
    ...shipped,
    { version: next, name: `${next}-broken.sql`, sql: 'CREATE TABLE x (a); SELECT nope FROM nowhere;' },
  ]
  t.throws(() => migrate(db, broken))
  t.equal(
    db.pragma('user_version', { simple: true }),
    shipped.length,
    'the shipped migrations applied, the broken one rolled back',
  )
  t.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'x'").get() as { n: number }).n, 0)
  db.close()
})
