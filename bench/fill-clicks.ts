/**
 * Fills a benchmark database with synthetic clicks for one message, straight in
 * SQL, keeping raw rows, unique tables and counters consistent with each other —
 * the same state the recorder would leave after that many taps. Used by
 * bench/run.ts before timing the stats endpoint; not part of the service.
 */
import Database from 'better-sqlite3'
import { firstClickBucket } from '../src/first-click-delay.js'

export function fillClicks(databasePath: string, messagePublicId: string, clicks: number): { seconds: number } {
  const started = performance.now()
  const db = new Database(databasePath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const message = db
    .prepare('SELECT id, recipient_count, created_at FROM messages WHERE public_id = ?')
    .get(messagePublicId) as { id: number; recipient_count: number; created_at: number } | undefined
  if (!message) throw new Error(`no message ${messagePublicId}`)
  const link = db.prepare('SELECT id FROM links WHERE message_id = ? ORDER BY position LIMIT 1').get(message.id) as {
    id: number
  }
  const ua = Number(
    db
      .prepare("INSERT INTO user_agents (ua) VALUES ('bench') ON CONFLICT (ua) DO UPDATE SET ua = ua RETURNING id")
      .pluck()
      .get(),
  )
  const now = Date.now()
  db.transaction(() => {
    // Every 20th click a bot; the rest humans spread over the recipients (repeats included).
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
       INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network)
       SELECT ? + i, ?, ?, (i * 7919) % ?, CASE WHEN i % 20 = 0 THEN 'bot' ELSE 'human' END,
              CASE WHEN i % 20 = 0 THEN 'bot_user_agent' END, ?, '203.0.113.0/24' FROM n`,
    ).run(clicks, now - clicks, message.id, link.id, message.recipient_count, ua)
    db.prepare(
      // last_at (migration 004): the latest repeat, NULL when the first click was the only one.
      `INSERT INTO message_uniques (message_id, recipient_idx, first_at, last_at)
       SELECT message_id, recipient_idx, min(at), nullif(max(at), min(at)) FROM clicks WHERE message_id = ? AND class = 'human'
       GROUP BY recipient_idx ON CONFLICT DO NOTHING`,
    ).run(message.id)
    db.prepare(
      `INSERT INTO link_uniques (link_id, recipient_idx, first_at)
       SELECT l.id, m.recipient_idx, m.first_at FROM message_uniques m JOIN links l ON l.message_id = m.message_id
       WHERE m.message_id = ? AND l.id = ? ON CONFLICT DO NOTHING`,
    ).run(message.id, link.id)
    const totals = db
      .prepare(`SELECT sum(class = 'human') AS total, sum(class <> 'human') AS bots FROM clicks WHERE message_id = ?`)
      .get(message.id) as { total: number; bots: number }
    const unique = db
      .prepare('SELECT count(*) FROM message_uniques WHERE message_id = ?')
      .pluck()
      .get(message.id) as number
    db.prepare(
      'UPDATE message_counters SET clicks_total = ?, clicks_unique = ?, clicks_bots = ? WHERE message_id = ?',
    ).run(totals.total, unique, totals.bots, message.id)
    db.prepare('UPDATE link_counters SET clicks_total = ?, clicks_unique = ?, clicks_bots = ? WHERE link_id = ?').run(
      totals.total,
      unique,
      totals.bots,
      link.id,
    )
    // What the flush counts beside the totals (migration 004): reasons of the non-human
    // clicks and breakdowns of the human ones. The 'bench' user agent parses as unknown.
    db.prepare(
      `INSERT INTO message_reason_counters (message_id, reason, clicks) VALUES (?, 'bot_user_agent', ?)
       ON CONFLICT DO UPDATE SET clicks = excluded.clicks`,
    ).run(message.id, totals.bots)
    const breakdown = db.prepare(
      `INSERT INTO message_breakdowns (message_id, dimension, value, clicks) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = excluded.clicks`,
    )
    for (const dimension of ['device', 'os', 'browser']) breakdown.run(message.id, dimension, 'unknown', totals.total)
    const humans = `FROM clicks WHERE message_id = ? AND class = 'human'`
    for (const row of db
      .prepare(`SELECT (at / 3600000) % 24 AS value, count(*) AS n ${humans} GROUP BY 1`)
      .all(message.id) as Array<{ value: number; n: number }>) {
      breakdown.run(message.id, 'hour', String(row.value), row.n)
    }
    // CAST: a number bound from JavaScript is a REAL, and so would the day be.
    const days = db.prepare(
      `SELECT max(0, CAST((at - ?) / 86400000 AS INTEGER)) AS value, count(*) AS n ${humans} GROUP BY 1`,
    )
    for (const row of days.all(message.created_at, message.id) as Array<{ value: number; n: number }>) {
      breakdown.run(message.id, 'day', String(row.value), row.n)
    }
    const buckets = new Map<number, number>()
    for (const firstAt of db
      .prepare('SELECT first_at FROM message_uniques WHERE message_id = ?')
      .pluck()
      .iterate(message.id)) {
      const bucket = firstClickBucket((firstAt as number) - message.created_at)
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
    }
    for (const [bucket, n] of buckets) breakdown.run(message.id, 'first_click', String(bucket), n)
    // The clicks-over-time series (migration 007, src/click-series.ts), in the same buckets.
    db.prepare(
      `INSERT INTO message_click_series (message_id, bucket, clicks)
       SELECT ?, CASE WHEN at - ? < 3600000 THEN max(0, CAST((at - ?) / 60000 AS INTEGER))
                      ELSE min(227, 59 + CAST((at - ?) / 3600000 AS INTEGER)) END AS bucket, count(*) ${humans}
       GROUP BY bucket ON CONFLICT DO UPDATE SET clicks = excluded.clicks`,
    ).run(message.id, message.created_at, message.created_at, message.created_at, message.id)
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return { seconds: (performance.now() - started) / 1000 }
}
