/**
 * Fills a benchmark database with synthetic clicks for one message, straight in
 * SQL, keeping raw rows, unique tables and counters consistent with each other —
 * the same state the recorder would leave after that many taps. Used by
 * bench/run.ts before timing the stats endpoint; not part of the service.
 */
import Database from 'better-sqlite3'

export function fillClicks(databasePath: string, messagePublicId: string, clicks: number): { seconds: number } {
  const started = performance.now()
  const db = new Database(databasePath)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const message = db.prepare('SELECT id, recipient_count FROM messages WHERE public_id = ?').get(messagePublicId) as
    | { id: number; recipient_count: number }
    | undefined
  if (!message) throw new Error(`no message ${messagePublicId}`)
  const link = db.prepare('SELECT id FROM links WHERE message_id = ? ORDER BY position LIMIT 1').get(message.id) as { id: number }
  const ua = Number(
    db.prepare("INSERT INTO user_agents (ua) VALUES ('bench') ON CONFLICT (ua) DO UPDATE SET ua = ua RETURNING id").pluck().get(),
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
      `INSERT INTO message_uniques (message_id, recipient_idx, first_at)
       SELECT message_id, recipient_idx, min(at) FROM clicks WHERE message_id = ? AND class = 'human'
       GROUP BY recipient_idx ON CONFLICT DO NOTHING`,
    ).run(message.id)
    db.prepare(
      `INSERT INTO link_uniques (link_id, recipient_idx, first_at)
       SELECT l.id, m.recipient_idx, m.first_at FROM message_uniques m JOIN links l ON l.message_id = m.message_id
       WHERE m.message_id = ? AND l.id = ? ON CONFLICT DO NOTHING`,
    ).run(message.id, link.id)
    const totals = db
      .prepare(
        `SELECT sum(class = 'human') AS total, sum(class <> 'human') AS bots FROM clicks WHERE message_id = ?`,
      )
      .get(message.id) as { total: number; bots: number }
    const unique = db.prepare('SELECT count(*) FROM message_uniques WHERE message_id = ?').pluck().get(message.id) as number
    db.prepare('UPDATE message_counters SET clicks_total = ?, clicks_unique = ?, clicks_bots = ? WHERE message_id = ?').run(
      totals.total,
      unique,
      totals.bots,
      message.id,
    )
    db.prepare('UPDATE link_counters SET clicks_total = ?, clicks_unique = ?, clicks_bots = ? WHERE link_id = ?').run(
      totals.total,
      unique,
      totals.bots,
      link.id,
    )
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return { seconds: (performance.now() - started) / 1000 }
}
