/**
 * `npm run bench:dashboard`: how long the dashboard's pages take with 10,000,000
 * clicks on one message and 100,000 messages in the tenant. Builds the service on a
 * file under bench/out/, fills clicks (bench/fill-clicks.ts) and messages in SQL,
 * then times sequential page requests through inject() (the whole Fastify request,
 * no socket). Writes the "Dashboard pages" section of bench/RESULTS.md.
 *
 * Environment: BENCH_STATS_CLICKS (10000000), BENCH_MESSAGES (100000), BENCH_CALLS (200).
 */
import Database from 'better-sqlite3'
import { mkdirSync, rmSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { fillClicks } from './fill-clicks.js'
import { writeResultsSection } from './results-file.js'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const CLICKS = env('BENCH_STATS_CLICKS', 10_000_000)
const MESSAGES = env('BENCH_MESSAGES', 100_000)
const CALLS = env('BENCH_CALLS', 200)
const DB = 'bench/out/dashboard.db'
const ADMIN_TOKEN = 'bench-admin-token-0123456789'
const HOST = 'localhost:3000'
const SECTION = '## Dashboard pages'

const config = () =>
  loadConfig({ DATABASE_PATH: DB, ADMIN_TOKEN, LOG_LEVEL: 'silent', DASHBOARD_SIGN_IN_PER_MINUTE: '0' })

async function setUp(): Promise<{ key: string; messageId: string }> {
  const app = await buildApp(config(), { clickWriter: 'inline' })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, host: HOST }
  const tenant = (
    await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'Bench' } })
  ).json()
  await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant.id}/domains`,
    headers: admin,
    payload: { host: 's.bench.dk' },
  })
  const { key } = (
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/api-keys`,
      headers: admin,
      payload: { name: 'b' },
    })
  ).json()
  const recipients = Array.from({ length: 100_000 }, (_, i) => `r${i}`)
  const message = (
    await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${key}`, host: HOST },
      payload: { campaign: 'bench', links: [{ url: 'https://shop.dk/' }], recipients },
    })
  ).json()
  await app.close()
  return { key, messageId: message.id }
}

/** Older messages of the same tenant, straight in SQL, each with its counters row. */
function fillMessages(messagePublicId: string, count: number): void {
  const db = new Database(DB)
  db.pragma('synchronous = OFF')
  const message = db
    .prepare('SELECT id, tenant_id, domain_id, created_at FROM messages WHERE public_id = ?')
    .get(messagePublicId) as {
    id: number
    tenant_id: number
    domain_id: number
    created_at: number
  }
  db.transaction(() => {
    // Ids after the bench message's, created a minute apart before it, the newest last.
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO messages (id, public_id, tenant_id, domain_id, kind, campaign, recipient_count, created_at)
       SELECT ? + i, 'msg_fill' || i, ?, ?, CASE i % 3 WHEN 0 THEN 'flow' WHEN 1 THEN 'campaign' ELSE 'transactional' END,
              'fill-' || (i % 50), 1000, ? - (? - i + 1) * 60000 FROM n`,
    ).run(count, message.id, message.tenant_id, message.domain_id, message.created_at, count)
    db.prepare(
      `INSERT INTO message_counters (message_id, clicks_total, clicks_unique, delivered)
       SELECT id, 150, 120, 980 FROM messages WHERE id > ?`,
    ).run(message.id)
  })()
  db.close()
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10
}

async function main() {
  mkdirSync('bench/out', { recursive: true })
  for (const suffix of ['', '-wal', '-shm']) rmSync(DB + suffix, { force: true })
  const { key, messageId } = await setUp()
  console.log(`filling ${CLICKS.toLocaleString('en')} clicks and ${MESSAGES.toLocaleString('en')} messages…`)
  const fill = fillClicks(DB, messageId, CLICKS)
  fillMessages(messageId, MESSAGES)

  const app = await buildApp(config(), { clickWriter: 'inline' })
  const signInPage = await app.inject({ url: '/dashboard/sign-in', headers: { host: HOST } })
  const csrfCookie = String(signInPage.headers['set-cookie']).split(';')[0]!
  const token = /name="_csrf" value="([^"]+)"/.exec(signInPage.body)![1]!
  const signedIn = await app.inject({
    method: 'POST',
    url: '/dashboard/sign-in',
    headers: { host: HOST, cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, apiKey: key }).toString(),
  })
  const session = ([] as string[]).concat(signedIn.headers['set-cookie'] as string[])[0]!.split(';')[0]
  const cookie = `${csrfCookie}; ${session}`

  const first = await app.inject({ url: '/dashboard', headers: { host: HOST, cookie } })
  const older = /href="([^"]+)" rel="next"/.exec(first.body)![1]!.replace(/&amp;/g, '&')
  const pages: Array<[string, string]> = [
    [`the message page, ${CLICKS.toLocaleString('en')} clicks`, `/dashboard/messages/${messageId}`],
    ['the messages list, first page', '/dashboard'],
    ['the messages list, second page', older],
    ['the messages list, kind flow, last 30 days', '/dashboard?kind=flow&period=30d'],
    ['the messages list, one campaign of 50', '/dashboard?campaign=fill-7'],
    [`the campaign page (${(MESSAGES / 50).toLocaleString('en')} messages)`, '/dashboard/campaigns/fill-7'],
    ['the overview (last 30 days per kind)', '/dashboard/overview'],
  ]
  const rows: string[] = []
  const load = loadavg()[0]!
  for (const [name, url] of pages) {
    const check = await app.inject({ url, headers: { host: HOST, cookie } })
    if (check.statusCode !== 200) throw new Error(`${url}: ${check.statusCode} ${check.body.slice(-600)}`)
    const timings: number[] = []
    for (let i = 0; i < CALLS; i++) {
      const started = performance.now()
      await app.inject({ url, headers: { host: HOST, cookie } })
      timings.push(performance.now() - started)
    }
    timings.sort((a, b) => a - b)
    rows.push(`| ${name} | ${percentile(timings, 0.5)} ms | ${percentile(timings, 0.99)} ms |`)
    console.log(rows.at(-1))
  }
  const page = await app.inject({ url: `/dashboard/messages/${messageId}`, headers: { host: HOST, cookie } })
  const clicks = /data-metric="clicks"\s+data-format="count"\s+data-value="(\d+)"/.exec(page.body)?.[1]
  await app.close()

  const section = [
    SECTION,
    '',
    `Written by \`npm run bench:dashboard\` on ${new Date().toISOString().slice(0, 10)}. One message with ` +
      `${CLICKS.toLocaleString('en')} raw clicks (filled in SQL in ${Math.round(fill.seconds)} s; the page shows ` +
      `${Number(clicks).toLocaleString('en')} human clicks) among ${(MESSAGES + 1).toLocaleString('en')} messages of one tenant. ` +
      `${CALLS} sequential requests per page through \`inject()\` (the whole Fastify request, session check ` +
      `included, no socket). Load average when timing began: ${load.toFixed(1)} on ${cpus().length} cores ` +
      '(other work on the machine shows in p99, not in p50).',
    '',
    '| page | p50 | p99 |',
    '|---|---:|---:|',
    ...rows,
    '',
  ].join('\n')
  writeResultsSection(SECTION, section)
  for (const suffix of ['', '-wal', '-shm']) rmSync(DB + suffix, { force: true })
}

await main()
