import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runCli } from '../../src/cli/commands.js'
import {
  admin,
  bearer,
  createTenant,
  json,
  postMessage,
  stats,
  startApp,
  tap,
  tempDatabasePath,
  UA,
} from '../helpers.js'
import { entryPoint, processEnv } from '../fixtures/paths.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

const env = (databasePath: string) => processEnv({ DATABASE_PATH: databasePath, ADMIN_TOKEN: '', METRICS_TOKEN: '' })

/**
 * `smslinks <args>` as a separate process, as an operator runs it. Each process takes
 * a second or more to start, so only help, migrate, backup
 * and a failure run this way, for the exit code, stdout and stderr of a real process;
 * the other commands go through `inProcess`, the same runCli without the process around it.
 */
function spawned(databasePath: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...entryPoint('cli'), ...args], { env: env(databasePath) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

async function inProcess(databasePath: string, ...args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, env(databasePath), {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
  })
  return { code, stdout, stderr }
}

async function ok(t: Test, run: Promise<Run>): Promise<any> {
  const result = await run
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  return JSON.parse(result.stdout)
}

async function fails(t: Test, run: Promise<Run>, message: RegExp): Promise<void> {
  const result = await run
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, message)
  t.equal(result.stderr.trimEnd().split('\n').length, 1, 'one line')
}

t.test('help', async (t) => {
  const result = await spawned(tempDatabasePath(t), 'help')
  t.equal(result.code, 0)
  for (const command of [
    'tenant create',
    'tenant list',
    'domain add',
    'key create',
    'key revoke',
    'messages',
    'stats',
    'migrate',
    'backup',
  ]) {
    t.ok(result.stdout.includes(command), command)
  }
  t.equal((await inProcess(tempDatabasePath(t))).stdout, result.stdout, 'no command shows help too')
})

t.test('migrate creates the database and is idempotent', async (t) => {
  const databasePath = tempDatabasePath(t)
  const first = await ok(t, spawned(databasePath, 'migrate'))
  t.ok(first.applied.length >= 1)
  t.equal(first.version, first.applied[first.applied.length - 1])
  const again = await ok(t, inProcess(databasePath, 'migrate'))
  t.same(again.applied, [])
  t.equal(again.version, first.version)
})

t.test('tenant, domain and key commands work on the database the service uses', async (t) => {
  const databasePath = tempDatabasePath(t)
  const tenant = await ok(t, inProcess(databasePath, 'tenant', 'create', 'Brand A/S'))
  t.match(tenant, { id: /^ten_/, name: 'Brand A/S' })
  t.same(await ok(t, inProcess(databasePath, 'domain', 'add', tenant.id, 'localhost:3000', '--scheme', 'http')), {
    host: 'localhost:3000',
    tenantId: tenant.id,
  })
  t.same(await ok(t, inProcess(databasePath, 'domain', 'add', tenant.id, 'S.Brand.DK')), {
    host: 's.brand.dk',
    tenantId: tenant.id,
  })
  await fails(
    t,
    inProcess(databasePath, 'domain', 'add', tenant.id, 's.brand.dk'),
    /^smslinks: host s\.brand\.dk already belongs to a tenant/,
  )
  await fails(t, inProcess(databasePath, 'domain', 'add', tenant.id, 'https://x.dk'), /host must be a bare host name/)
  const list = await ok(t, inProcess(databasePath, 'tenant', 'list'))
  t.match(list.tenants, [
    {
      id: tenant.id,
      name: 'Brand A/S',
      domains: [{ host: 'localhost:3000', baseUrl: 'http://localhost:3000' }, { host: 's.brand.dk' }],
    },
  ])

  const key = await ok(t, inProcess(databasePath, 'key', 'create', tenant.id, 'prod'))
  t.match(key, { id: /^key_/, key: /^sl_\w{40}$/ })

  // The service, running on the same file, accepts the key and notices its revocation at once.
  const app = await startApp(t, { databasePath })
  t.equal((await app.inject({ url: '/v1/messages', headers: bearer(key.key) })).statusCode, 200)
  t.same(await ok(t, inProcess(databasePath, 'key', 'revoke', tenant.id, key.id)), { revoked: key.id })
  t.equal((await app.inject({ url: '/v1/messages', headers: bearer(key.key) })).statusCode, 401)
  await fails(t, inProcess(databasePath, 'key', 'revoke', tenant.id, 'key_nope'), /^smslinks: API key not found$/m)
  await fails(t, inProcess(databasePath, 'key', 'create', 'ten_nope', 'x'), /^smslinks: tenant not found$/m)
  await fails(t, inProcess(databasePath, 'tenant', 'create', ' padded'), /name must be/)
})

t.test('messages and stats show what the API shows', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath })
  const tenant = json(
    await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'Shop' } }),
  )
  await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant.id}/domains`,
    headers: admin,
    payload: { host: 's.shop.dk' },
  })
  const { key } = await ok(t, inProcess(databasePath, 'key', 'create', tenant.id, 'prod'))
  const first = json(
    await postMessage(app, key, { externalId: 'first', links: [{ url: 'https://shop.dk/a' }], recipients: ['a', 'b'] }),
  )
  const second = json(
    await postMessage(app, key, { externalId: 'second', links: [{ url: 'https://shop.dk/b' }], recipients: ['c'] }),
  )
  await tap(app, first.recipients[0].links[0])
  await tap(app, first.recipients[0].links[0])
  await tap(app, first.recipients[1].links[0], { userAgent: UA.whatsapp })
  const api = await stats(app, key, first.id)

  const listed = await ok(t, inProcess(databasePath, 'messages', tenant.id))
  t.same(
    listed.messages.map((m: { id: string }) => m.id),
    [second.id, first.id],
    'newest first',
  )
  t.same(listed.messages[1], json(await app.inject({ url: `/v1/messages/${first.id}`, headers: bearer(key) })))
  const one = await ok(t, inProcess(databasePath, 'messages', tenant.id, '--limit', '1'))
  t.same(
    one.messages.map((m: { id: string }) => m.id),
    [second.id],
    '--limit',
  )

  const figures = await ok(t, inProcess(databasePath, 'stats', tenant.id, first.id))
  t.same(figures, api)
  t.has(figures.clicks, { total: 2, unique: 1, bots: 0, previews: 1 })
  await fails(t, inProcess(databasePath, 'stats', tenant.id, 'msg_nope'), /^smslinks: message not found$/m)
})

t.test('a backup taken while the service has the database open holds the same figures', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath })
  const { tenantId, key } = await createTenant(app)
  const recipients = Array.from({ length: 50 }, (_, i) => `r${i}`)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients }))
  for (const recipient of message.recipients.slice(0, 20)) await tap(app, recipient.links[0])
  const live = await stats(app, key, message.id)
  t.equal(live.clicks.unique, 20)

  const backupPath = join(tempDatabasePath(t), '..', 'backup.db')
  const result = await ok(t, spawned(databasePath, 'backup', backupPath))
  t.equal(result.backup, backupPath)
  t.ok(result.bytes > 0)
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'the service kept running')

  t.same(
    await ok(t, inProcess(backupPath, 'stats', tenantId, message.id)),
    live,
    'the backup opens and holds the same counts',
  )
  await fails(t, inProcess(databasePath, 'backup', backupPath), /already exists/)
})

t.test('a failure is one line on stderr and exit code 1; bad input creates nothing', async (t) => {
  const missing = tempDatabasePath(t)
  await fails(t, spawned(missing, 'stats', 'ten_x', 'msg_x'), /^smslinks: no database at .*: set DATABASE_PATH/)
  await fails(t, inProcess(missing, 'tenant', 'create', ' padded'), /name must be/)
  t.notOk(existsSync(missing), 'no database was created at the wrong path')

  const databasePath = tempDatabasePath(t)
  await ok(t, inProcess(databasePath, 'migrate'))
  await fails(t, inProcess(databasePath, 'frobnicate'), /unknown command "frobnicate"/)
  await fails(t, inProcess(databasePath, 'tenant', 'create'), /tenant create takes <name>/)
  await fails(t, inProcess(databasePath, 'stats', 'ten_x'), /stats takes <tenantId> <messageId>/)
  await fails(t, inProcess(databasePath, 'migrate', 'now'), /migrate takes no arguments/)
  await fails(t, inProcess(databasePath, 'tenant', 'list', '--limit', '3'), /tenant list does not take --limit/)
  await fails(t, inProcess(databasePath, 'messages', 'ten_x', '--limit', '0'), /--limit must be a whole number/)
  await fails(t, inProcess(databasePath, 'tenant', 'list', '--bogus'), /Unknown option '--bogus'/)
  await fails(
    t,
    inProcess(databasePath, 'domain', 'add', 'ten_x', 's.x.dk', '--scheme', 'ftp'),
    /--scheme must be https or http/,
  )
  t.same((await ok(t, inProcess(databasePath, 'tenant', 'list'))).tenants, [], 'nothing was stored')
})

t.test("a tenant's page language and unsubscribe page wording are set from the command line", async (t) => {
  const databasePath = tempDatabasePath(t)
  const tenant = await ok(t, inProcess(databasePath, 'tenant', 'create', 'Barnets Verden'))
  t.same(await ok(t, inProcess(databasePath, 'tenant', 'language', tenant.id, 'no')), {
    id: tenant.id,
    name: 'Barnets Verden',
    language: 'nb',
  })
  t.match((await ok(t, inProcess(databasePath, 'tenant', 'list'))).tenants, [{ id: tenant.id, language: 'nb' }])
  await fails(
    t,
    inProcess(databasePath, 'tenant', 'language', tenant.id, 'fr'),
    /use one of da, de, en, nb, sv, zh-Hans/,
  )
  t.match(await ok(t, inProcess(databasePath, 'tenant', 'language', tenant.id, 'none')), { language: null })

  t.same(await ok(t, inProcess(databasePath, 'page-text', 'set', tenant.id, 'da', 'Afmeld SMS', 'Tryk på knappen.')), {
    language: 'da',
    title: 'Afmeld SMS',
    text: 'Tryk på knappen.',
  })
  await fails(
    t,
    inProcess(databasePath, 'page-text', 'set', tenant.id, 'da', 'x'.repeat(121), 'Tekst'),
    /title must be at most 120 characters/,
  )
  t.same(await ok(t, inProcess(databasePath, 'page-text', 'list', tenant.id)), {
    pageTexts: [{ language: 'da', title: 'Afmeld SMS', text: 'Tryk på knappen.' }],
  })
  t.same(await ok(t, inProcess(databasePath, 'page-text', 'remove', tenant.id, 'da')), { removed: 'da' })
  t.same(await ok(t, inProcess(databasePath, 'page-text', 'list', tenant.id)), { pageTexts: [] })
  await fails(t, inProcess(databasePath, 'page-text', 'list', 'ten_nope'), /^smslinks: tenant not found$/m)
})
