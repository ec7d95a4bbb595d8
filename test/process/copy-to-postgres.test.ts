import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openPostgresStore } from '../../src/db/postgres/index.js'
import { entryPoint, processEnv } from '../fixtures/paths.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import {
  ADMIN_TOKEN,
  bearer,
  confirmUnsubscribe,
  createTenant,
  eventually,
  FAST_WEBHOOKS,
  flushClicks,
  json,
  postMessage,
  startApp,
  startReceiver,
  tap,
  tempDatabasePath,
  UA,
} from '../helpers.js'

/** Runs `smslinks copy-to-postgres` as a process; its exit code, stdout and stderr. */
async function copyToPostgres(t: Test, env: Record<string, string>) {
  // Started from a temp folder so that no .env of the checkout is read.
  const child = spawn(process.execPath, [...entryPoint('cli'), 'copy-to-postgres'], {
    cwd: t.testdir({}),
    env: processEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stdout, stderr }
}

/** Every page of a message's click export. */
async function allClicks(app: FastifyInstance, key: string, messageId: string, limit: number) {
  const rows: unknown[] = []
  let cursor: string | null = null
  do {
    const query: string = cursor === null ? '' : `&cursor=${cursor}`
    const page = json(
      await app.inject({ url: `/v1/messages/${messageId}/clicks?limit=${limit}${query}`, headers: bearer(key) }),
    )
    rows.push(...(page.clicks as unknown[]))
    cursor = page.nextCursor
  } while (cursor !== null)
  return rows
}

/** Every page of the opt-out feed, and the cursor it ends with. */
async function allOptOuts(app: FastifyInstance, key: string) {
  const rows: unknown[] = []
  let page = json(await app.inject({ url: '/v1/optouts?limit=2', headers: bearer(key) }))
  rows.push(...(page.optOuts as unknown[]))
  while (page.hasMore) {
    page = json(await app.inject({ url: `/v1/optouts?limit=2&since=${page.nextCursor}`, headers: bearer(key) }))
    rows.push(...(page.optOuts as unknown[]))
  }
  return { rows, nextCursor: page.nextCursor as string }
}

interface Sent {
  id: string
  campaign: string | null
  links: Array<{ shortUrl: string }>
  recipients: Array<{ id: string; links: string[]; unsubscribeUrl?: string }>
}

/** What the API shows of the database: every message's stats and clicks, the opt-out feed, a campaign. */
async function readings(app: FastifyInstance, key: string, messages: Sent[]) {
  const perMessage = []
  for (const message of messages) {
    const stats = json(await app.inject({ url: `/v1/messages/${message.id}/stats`, headers: bearer(key) }))
    const clicks = await allClicks(app, key, message.id, 2)
    perMessage.push({ id: message.id, stats, clicks })
  }
  const optouts = await allOptOuts(app, key)
  const campaign = json(await app.inject({ url: '/v1/campaigns/spring/stats', headers: bearer(key) }))
  return { perMessage, optouts, campaign }
}

/** A SQLite database with something in every table a user fills: clicks of each class, opt-outs, reports, conversions, webhooks. */
async function fillSqlite(t: Test, databasePath: string) {
  const receiver = await startReceiver(t, () => 204)
  const app = await startApp(t, { databasePath, env: FAST_WEBHOOKS })
  const { key, host } = await createTenant(app, 's.shop.dk')
  const hook = await app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: bearer(key),
    payload: { url: receiver.url, events: ['click', 'unsubscribe'] },
  })
  t.equal(hook.statusCode, 201)
  const send = async (payload: object): Promise<Sent> => {
    const response = await postMessage(app, key, payload)
    t.equal(response.statusCode, 201)
    return json(response)
  }
  const sale = await send({
    campaign: 'spring',
    variant: 'A',
    links: [{ url: 'https://shop.dk/sale' }, { url: 'https://shop.dk/stores' }],
    recipients: ['cust-1', 'cust-2', 'cust-3', 'cust-4'],
    unsubscribe: true,
    clickIdParam: 'sl_cid',
  })
  const other = await send({
    campaign: 'spring',
    variant: 'B',
    text: 'Spring sale: https://shop.dk/b',
    recipients: ['cust-1', 'cust-5'],
    unsubscribe: true,
  })
  const flow = await send({ kind: 'flow', links: [{ url: 'https://shop.dk/welcome' }], recipients: ['cust-9'] })

  const [one, two, three] = sale.recipients
  await tap(app, one!.links[0]!, { userAgent: UA.iphoneSafari })
  await tap(app, one!.links[0]!, { userAgent: UA.iphoneSafari })
  await tap(app, one!.links[1]!, { userAgent: UA.androidChrome })
  await tap(app, two!.links[0]!, { userAgent: UA.androidChrome })
  await tap(app, two!.links[0]!, { userAgent: UA.whatsapp })
  await tap(app, three!.links[1]!, { userAgent: UA.googlebot })
  await tap(app, sale.links[0]!.shortUrl, { userAgent: UA.iphoneSafari })
  await tap(app, other.recipients[1]!.links[0]!, { userAgent: UA.imessagePreview })
  await tap(app, other.recipients[1]!.links[0]!, { userAgent: UA.iphoneSafari })
  await tap(app, flow.recipients[0]!.links[0]!, { userAgent: null })
  await flushClicks(app)

  const reports = await app.inject({
    method: 'POST',
    url: `/v1/messages/${sale.id}/deliveries`,
    headers: bearer(key),
    payload: {
      reports: [
        { recipient: 'cust-1', status: 'delivered' },
        { recipient: 'cust-2', status: 'delivered' },
        { recipient: 'cust-4', status: 'failed' },
      ],
    },
  })
  t.equal(reports.statusCode, 200)
  const conversion = await app.inject({
    method: 'POST',
    url: '/v1/conversions',
    headers: bearer(key),
    payload: { message: sale.id, recipient: 'cust-1', value: 129.5, currency: 'DKK', id: 'order-77' },
  })
  t.equal(conversion.statusCode, 201)
  for (const recipient of [sale.recipients[3]!, other.recipients[0]!, sale.recipients[2]!]) {
    t.equal((await confirmUnsubscribe(app, recipient.unsubscribeUrl!)).statusCode, 200)
  }
  await eventually(
    t,
    'every webhook event delivered',
    async () => receiver.received.length > 0 && (await app.services.store.pendingWebhookEvents()) === 0,
  )
  const messages = [sale, other, flow]
  const before = await readings(app, key, messages)
  // A cursor taken on SQLite, to be followed on PostgreSQL.
  const firstPage = json(await app.inject({ url: `/v1/messages/${sale.id}/clicks?limit=3`, headers: bearer(key) }))
  await app.close()
  return { key, host, messages, before, firstPage }
}

async function startOnPostgres(t: Test, url: string) {
  const config = loadConfig({ ADMIN_TOKEN, DATABASE_URL: url, LOG_LEVEL: 'silent', TOO_FAST_MS: '0' })
  const app = await buildApp(config, { store: await openPostgresStore(url), clickWriter: 'inline' })
  t.teardown(() => app.close())
  return app
}

t.test('a SQLite database copied to PostgreSQL reads and redirects the same', async (t) => {
  const databasePath = tempDatabasePath(t)
  const filled = await fillSqlite(t, databasePath)
  t.equal(filled.before.perMessage[0]!.clicks.length, 7, 'the sale has seven stored clicks')
  t.equal(filled.before.optouts.rows.length, 3)
  const url = await postgresDatabase(t)

  const copy = await copyToPostgres(t, { DATABASE_PATH: databasePath, DATABASE_URL: url })
  t.equal(copy.code, 0, copy.stderr)
  const result = JSON.parse(copy.stdout)
  t.equal(result.tables.clicks, 10)
  t.equal(result.tables.optouts, 3)
  t.equal(result.tables.conversions, 1)
  t.equal(result.tables.webhook_attempts, result.tables.webhook_events)
  t.ok(result.tables.webhook_events > 0)
  t.notMatch(copy.stdout, /:[^:@/]*@/, 'no password in the output')
  t.match(copy.stderr, /^copy-to-postgres: clicks 10\/10 rows \(100%\)$/m, 'progress per table on stderr')
  t.match(copy.stderr, /^copy-to-postgres: optouts 3\/3 rows \(100%\)$/m)

  const app = await startOnPostgres(t, url)
  const after = await readings(app, filled.key, filled.messages)
  t.same(after, filled.before, 'stats, click export, opt-out feed and campaign read the same')

  const rest = json(
    await app.inject({
      url: `/v1/messages/${filled.messages[0]!.id}/clicks?limit=100&cursor=${filled.firstPage.nextCursor}`,
      headers: bearer(filled.key),
    }),
  )
  t.same(rest.clicks, filled.before.perMessage[0]!.clicks.slice(3), 'a cursor from SQLite goes on where it stopped')

  for (const message of filled.messages) {
    for (const shortUrl of [...message.recipients.flatMap((r) => r.links), ...message.links.map((l) => l.shortUrl)]) {
      const before = new URL(shortUrl)
      const response = await tap(app, shortUrl)
      t.equal(response.statusCode, 302, `${before.pathname} redirects`)
      t.match(response.headers.location, /^https:\/\/shop\.dk\//)
    }
  }
  await flushClicks(app)
  const sale = json(
    await app.inject({ url: `/v1/messages/${filled.messages[0]!.id}/stats`, headers: bearer(filled.key) }),
  )
  const saleBefore = filled.before.perMessage[0]!.stats
  t.equal(sale.clicks.total, saleBefore.clicks.total + 10, 'new clicks are written: the ids moved past the copied ones')
  t.equal(sale.clicks.unique, 4, 'the recipients who had not clicked count once each, the others not again')
  const clicks = await allClicks(app, filled.key, filled.messages[0]!.id, 5)
  t.same(clicks.slice(0, 7), filled.before.perMessage[0]!.clicks, 'copied clicks come first in the export')
  t.equal(clicks.length, 7 + 10)
})

t.test('a target with rows is refused and left as it was', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath })
  await createTenant(app, 's.copy.dk', 'Copied')
  await app.close()
  const url = await postgresDatabase(t)
  const other = await startOnPostgres(t, url)
  await createTenant(other, 's.there.dk', 'Already there')
  await other.close()

  const copy = await copyToPostgres(t, { DATABASE_PATH: databasePath, DATABASE_URL: url })
  t.equal(copy.code, 1)
  t.match(
    copy.stderr,
    /^smslinks: the PostgreSQL database at 127\.0\.0\.1:\d+\/\w+ is not empty \(rows in [a-z_, ]+\): copy into a new, empty database\n$/,
  )
  t.equal(copy.stdout, '')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const { rows } = await client.query('SELECT name FROM tenants ORDER BY id')
  t.same(
    rows.map((row) => row.name),
    ['Already there'],
    'nothing copied',
  )
})

t.test('an unreachable or malformed DATABASE_URL, or none, is one line and exit code 1', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath })
  await app.close()
  const unreachable = await copyToPostgres(t, {
    DATABASE_PATH: databasePath,
    DATABASE_URL: 'postgres://smslinks:secretpw@127.0.0.1:1/smslinks',
  })
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^smslinks: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/smslinks: [^\n]+\n$/)
  t.notMatch(unreachable.stderr, /secretpw/)

  const malformed = await copyToPostgres(t, { DATABASE_PATH: databasePath, DATABASE_URL: 'mysql://u:secretpw@db/x' })
  t.equal(malformed.code, 1)
  t.equal(malformed.stderr, 'smslinks: DATABASE_URL must start with postgres:// or postgresql:// (got "mysql://…")\n')

  const none = await copyToPostgres(t, { DATABASE_PATH: databasePath })
  t.equal(none.code, 1)
  t.equal(none.stderr, 'smslinks: copy-to-postgres needs DATABASE_URL: the postgres:// URL of an empty database\n')
})

t.test('a table or column only one side has stops the copy before a row is written', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath })
  await createTenant(app, 's.copy.dk', 'Copied')
  await app.close()
  const sqlite = new Database(databasePath)
  sqlite.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); ALTER TABLE tenants ADD COLUMN colour TEXT')
  sqlite.close()
  const url = await postgresDatabase(t)

  const copy = await copyToPostgres(t, { DATABASE_PATH: databasePath, DATABASE_URL: url })
  t.equal(copy.code, 1)
  t.equal(
    copy.stderr,
    'smslinks: the SQLite and PostgreSQL schemas differ (table notes only in SQLite; tenants.colour only in SQLite): ' +
      'nothing was copied\n',
  )
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  t.equal((await client.query('SELECT count(*)::int AS n FROM tenants')).rows[0].n, 0)
})
