/**
 * Times `GET /v1/messages/:id/stats` on PostgreSQL for a message with
 * BENCH_STATS_CLICKS (10,000,000) clicks: the service built with inject() on a scratch
 * database of BENCH_PG_URL (default the local server's `test`), the clicks filled in
 * SQL with raw rows, uniques and counters consistent with each other, then 200
 * sequential stats calls. Writes the "PostgreSQL: stats" section of RESULTS.md.
 */
import { loadavg } from 'node:os'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { injectTenant } from './inject-tenant.js'
import { writeResultsSection } from './results-section.js'

const CLICKS = Number(process.env.BENCH_STATS_CLICKS ?? 10_000_000)
const RECIPIENTS = 100_000
const CALLS = 200
const BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef'

const admin = new pg.Client({ connectionString: BASE })
await admin.connect()
const name = `smslinks_stats_${process.pid}`
await admin.query(`CREATE DATABASE ${name}`)
const url = new URL(BASE)
url.pathname = `/${name}`
const version = ((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version

try {
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    METRICS_PORT: 'off',
    PUBLIC_URL: 'http://localhost:3000',
  })
  const app = await buildApp(config, { clickWriter: 'inline' })
  const key = await injectTenant(app, { authorization: `Bearer ${ADMIN_TOKEN}`, host: 'localhost:3000' })
  const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `r${i}`)
  const message = (
    await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${key}`, host: 'localhost:3000' },
      payload: { domain: 's.bench.dk', links: [{ url: 'https://shop.dk/sale' }], recipients },
    })
  ).json() as { id: string }

  const db = new pg.Client({ connectionString: url.toString() })
  await db.connect()
  const filling = performance.now()
  const { rows } = await db.query<{ id: string; link: string; created: string }>(
    `SELECT m.id, l.id AS link, m.created_at AS created FROM messages m JOIN links l ON l.message_id = m.id
     WHERE m.public_id = $1`,
    [message.id],
  )
  const { id, link, created } = rows[0]!
  await db.query('BEGIN')
  // Every 20th click a bot; the rest humans spread over the recipients, repeats included.
  await db.query(
    `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, network)
     SELECT $1::bigint + i, $2, $3, (i * 7919) % $4, CASE WHEN i % 20 = 0 THEN 'bot' ELSE 'human' END,
            CASE WHEN i % 20 = 0 THEN 'bot_user_agent' END, '203.0.113.0/24'
     FROM generate_series(0, $5::bigint - 1) AS i`,
    [Number(created) + 1, id, link, RECIPIENTS, CLICKS],
  )
  await db.query(
    `INSERT INTO message_uniques (message_id, recipient_idx, first_at, last_at)
     SELECT message_id, recipient_idx, min(at), nullif(max(at), min(at)) FROM clicks
     WHERE message_id = $1 AND class = 'human' GROUP BY message_id, recipient_idx`,
    [id],
  )
  await db.query(
    `INSERT INTO link_uniques (link_id, recipient_idx, first_at)
     SELECT $2, recipient_idx, first_at FROM message_uniques WHERE message_id = $1`,
    [id, link],
  )
  await db.query(
    `WITH t AS (SELECT count(*) FILTER (WHERE class = 'human') AS total, count(*) FILTER (WHERE class <> 'human') AS bots
                FROM clicks WHERE message_id = $1),
          u AS (SELECT count(*) AS n FROM message_uniques WHERE message_id = $1),
          m AS (UPDATE message_counters SET clicks_total = t.total, clicks_unique = u.n, clicks_bots = t.bots
                FROM t, u WHERE message_id = $1 RETURNING 1),
          l AS (UPDATE link_counters SET clicks_total = t.total, clicks_unique = u.n, clicks_bots = t.bots
                FROM t, u WHERE link_id = $2 RETURNING 1)
     INSERT INTO message_reason_counters (message_id, reason, clicks) SELECT $1, 'bot_user_agent', bots FROM t`,
    [id, link],
  )
  await db.query(
    `INSERT INTO message_breakdowns (message_id, dimension, value, clicks)
     SELECT $1, d, 'unknown', (SELECT clicks_total FROM message_counters WHERE message_id = $1)
     FROM unnest(ARRAY['device', 'os', 'browser']) AS d`,
    [id],
  )
  await db.query(
    `INSERT INTO message_breakdowns (message_id, dimension, value, clicks)
     SELECT $1, 'hour', ((at / 3600000) % 24)::text, count(*) FROM clicks
     WHERE message_id = $1 AND class = 'human' GROUP BY 3`,
    [id],
  )
  await db.query('COMMIT')
  await db.query('ANALYZE')
  await db.end()
  const fillSeconds = (performance.now() - filling) / 1000

  const times: number[] = []
  let figures: { clicks: { total: number; unique: number; bots: number } } | null = null
  for (let i = 0; i < CALLS; i++) {
    const started = performance.now()
    const response = await app.inject({
      url: `/v1/messages/${message.id}/stats`,
      headers: { authorization: `Bearer ${key}`, host: 'localhost:3000' },
    })
    times.push(performance.now() - started)
    figures = response.json()
  }
  await app.close()
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2)
  const met = Number(at(0.99)) <= 10 ? 'met' : '**missed**'
  const section =
    `Written by \`npx tsx bench/postgres-stats.ts\` on ${new Date().toISOString().slice(0, 10)}: PostgreSQL ${version} ` +
    `on this machine (default settings), load average ${loadavg()[0]!.toFixed(1)} at the end. A message of ` +
    `${RECIPIENTS.toLocaleString('en')} recipients with ${CLICKS.toLocaleString('en')} clicks filled in SQL ` +
    `(${fillSeconds.toFixed(1)} s; raw rows, uniques and counters consistent), then ${CALLS} sequential ` +
    `\`GET /v1/messages/:id/stats\` calls through inject() on the service built on it. The stats reported ` +
    `${figures!.clicks.total.toLocaleString('en')} human clicks, ${figures!.clicks.unique.toLocaleString('en')} unique, ` +
    `${figures!.clicks.bots.toLocaleString('en')} bots.\n\n` +
    '| target (PostgreSQL) | figure | |\n|---|---|---|\n' +
    `| stats ≤ 10 ms at ${CLICKS.toLocaleString('en')} clicks | p50 ${at(0.5)} ms, p99 ${at(0.99)} ms | ${met} |\n`
  writeResultsSection('## PostgreSQL: stats', section)
  console.log(section)
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.end()
}
