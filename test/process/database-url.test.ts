import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import t, { type Test } from 'tap'
import { runCli } from '../../src/cli/commands.js'
import { entryPoint, processEnv } from '../fixtures/paths.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { freePort, startServer, tempDatabasePath } from '../helpers.js'

/** Starts the server expecting it to fail: its exit code and everything it wrote on stderr. */
async function failedStart(t: Test, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  // Started from a temp folder so that no .env of the checkout is read.
  const cwd = t.testdir({})
  const child = spawn(process.execPath, entryPoint('server'), {
    cwd,
    env: processEnv({ PORT: '0', METRICS_PORT: 'off', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stderr }
}

async function cli(env: Record<string, string>, ...args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await runCli(
    args,
    { ADMIN_TOKEN: '', ...env },
    {
      out: (text) => (stdout += text),
      err: (text) => (stderr += text),
    },
  )
  return { code, stdout, stderr }
}

t.test('a malformed DATABASE_URL stops the server with one line and exit code 1', async (t) => {
  const { code, stderr } = await failedStart(t, { DATABASE_URL: 'mysql://smslinks:secretpw@db/smslinks' })
  t.equal(code, 1)
  t.equal(
    stderr,
    'smslinks: DATABASE_URL must start with postgres:// or postgresql:// (got "mysql://…")\n',
    'one line, no stack trace, no password',
  )
})

t.test('a DATABASE_URL nothing answers on stops the server with one line naming it', async (t) => {
  const port = await freePort()
  const { code, stderr } = await failedStart(t, {
    DATABASE_URL: `postgres://smslinks:secretpw@127.0.0.1:${port}/smslinks`,
  })
  t.equal(code, 1)
  t.match(
    stderr,
    new RegExp(
      `^smslinks: cannot start: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/smslinks: .*ECONNREFUSED.*\\n$`,
    ),
  )
  t.equal(stderr.split('\n').length, 2, 'one line, no stack trace')
  t.notMatch(stderr, 'secretpw')
})

t.test('a database the server refuses stops the server with the reason it gives', async (t) => {
  const url = new URL(await postgresDatabase(t))
  url.pathname = '/no_such_database'
  const { code, stderr } = await failedStart(t, { DATABASE_URL: url.toString() })
  t.equal(code, 1)
  t.match(
    stderr,
    /^smslinks: cannot start: cannot connect to PostgreSQL at .*\/no_such_database: .*no_such_database.*\n$/,
  )
  t.equal(stderr.split('\n').length, 2, 'one line, no stack trace')
})

t.test('the server runs on DATABASE_URL, and refuses another TOKEN_SECRET for the same database', async (t) => {
  const databaseUrl = await postgresDatabase(t)
  const databasePath = tempDatabasePath(t)
  const secret = 'the-first-secret-0123456789abcdefghij'
  const server = await startServer(t, databasePath, { DATABASE_URL: databaseUrl, TOKEN_SECRET: secret })
  t.ok(server.apiKey, 'the first start bootstraps a tenant, in PostgreSQL')
  const ready = await fetch(`${server.base}/readyz`)
  t.equal(ready.status, 200)
  const messages = await fetch(`${server.base}/v1/messages`, { headers: { authorization: `Bearer ${server.apiKey}` } })
  t.equal(messages.status, 200, 'the key the first start made works')
  t.notOk(existsSync(databasePath), 'no SQLite file is made beside it')
  server.child.kill('SIGTERM')
  t.equal((await once(server.child, 'exit'))[0], 0)

  const again = await startServer(t, databasePath, { DATABASE_URL: databaseUrl, TOKEN_SECRET: secret })
  t.equal(again.apiKey, undefined, 'the second start finds the tenant it made')
  again.child.kill('SIGTERM')
  await once(again.child, 'exit')

  const other = await failedStart(t, {
    DATABASE_URL: databaseUrl,
    TOKEN_SECRET: 'another-secret-0123456789abcdefghijk',
  })
  t.equal(other.code, 1)
  t.match(other.stderr, /^smslinks: cannot start: TOKEN_SECRET is not the secret this database was created with: .*\n$/)
  t.equal(other.stderr.split('\n').length, 2, 'one line, no stack trace')
})

t.test('the CLI works on DATABASE_URL and sends backups to pg_dump', async (t) => {
  const env = { DATABASE_URL: await postgresDatabase(t), DATABASE_PATH: tempDatabasePath(t) }
  const migrated = await cli(env, 'migrate')
  t.equal(migrated.code, 0, migrated.stderr)
  const { applied, version, database } = JSON.parse(migrated.stdout)
  t.ok(applied.length > 0, 'the first migrate applies every migration')
  t.equal(version, applied.at(-1))
  t.match(database, /^postgres:\/\/127\.0\.0\.1:\d+\/smslinks_test_/)
  t.same(JSON.parse((await cli(env, 'migrate')).stdout).applied, [], 'the second applies none')

  const created = await cli(env, 'tenant', 'create', 'Shop')
  t.equal(created.code, 0, created.stderr)
  const tenant = JSON.parse(created.stdout)
  const list = JSON.parse((await cli(env, 'tenant', 'list')).stdout)
  t.same(
    list.tenants.map((listed: { id: string }) => listed.id),
    [tenant.id],
  )
  t.notOk(existsSync(env.DATABASE_PATH), 'nothing written to the SQLite path')

  const backup = await cli(env, 'backup', 'copy.db')
  t.equal(backup.code, 1)
  t.match(backup.stderr, /^smslinks: backup copies the SQLite file; .*pg_dump.*\n$/)
  t.notOk(existsSync('copy.db'))

  const unreachable = await cli(
    { DATABASE_URL: `postgres://u:secretpw@127.0.0.1:${await freePort()}/x` },
    'tenant',
    'list',
  )
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^smslinks: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/x: .*\n$/)
  t.notMatch(unreachable.stderr, 'secretpw')
})
