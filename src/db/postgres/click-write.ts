import type pg from 'pg'
import type { ClickTally, ClickWrite } from '../store.js'
import { claimClickBatch } from './click-batches.js'
import { transaction, type Queryable } from './pool.js'
import { insertWebhookEvents } from './webhooks.js'

const key = (a: number, b: number) => `${a}:${b}`
const byNumber = (a: number, b: number) => a - b

/**
 * Stores a batch the click rules (src/clicks/click-batch.ts) worked out, with the
 * meaning of the SQLite store's writeClicks, in one transaction. Each kind of row goes
 * in one statement over arrays (`unnest`), whatever the batch size; first clicks are
 * decided by `ON CONFLICT DO NOTHING RETURNING`, and the unique counters and the
 * first-click breakdown move only by the rows really inserted, so two instances writing
 * the same recipient's clicks at once count it once. Keys are written in sorted order,
 * so concurrent batches take row locks in the same order and cannot deadlock. A batch
 * with an id writes nothing when that id is stored already (click-batches.ts).
 */
export async function writeClicks(pool: pg.Pool, write: ClickWrite): Promise<void> {
  await transaction(pool, async (client) => {
    // A retried batch whose first attempt committed is written already.
    if (write.batchId !== undefined && !(await claimClickBatch(client, write.batchId, Date.now()))) return
    await insertClicks(client, write)

    const firsts = [...write.firstClicks].sort((a, b) => a.messageId - b.messageId || a.recipientIdx - b.recipientIdx)
    const firstInserted = await insertUniques(
      client,
      'message_uniques',
      'message_id',
      firsts.map((f) => [f.messageId, f.recipientIdx, f.at]),
    )
    const messageUniques = new Map<number, number>()
    const linkUniques = new Map<number, number>()
    const breakdowns = new Map<string, { messageId: number; dimension: string; value: string; clicks: number }>()
    const addBreakdown = (messageId: number, dimension: string, value: string, clicks: number) => {
      const k = `${messageId}\u0000${dimension}\u0000${value}`
      const entry = breakdowns.get(k)
      if (entry) entry.clicks += clicks
      else breakdowns.set(k, { messageId, dimension, value, clicks })
    }
    const lastClicks: Array<[number, number, number]> = []
    for (const first of firsts) {
      const inserted = firstInserted.has(key(first.messageId, first.recipientIdx))
      if (inserted) {
        increment(messageUniques, first.messageId, 1)
        if (first.linkId !== null) increment(linkUniques, first.linkId, 1)
        addBreakdown(first.messageId, 'first_click', first.delayBucket, 1)
      }
      if (!inserted || first.repeated) lastClicks.push([first.messageId, first.recipientIdx, first.lastAt])
    }
    if (lastClicks.length > 0) {
      await client.query(
        `UPDATE message_uniques u SET last_at = greatest(coalesce(u.last_at, u.first_at), r.at)
         FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS r(message_id, recipient_idx, at)
         WHERE u.message_id = r.message_id AND u.recipient_idx = r.recipient_idx`,
        [lastClicks.map((r) => r[0]), lastClicks.map((r) => r[1]), lastClicks.map((r) => r[2])],
      )
    }

    const linkFirsts = new Map<string, [number, number, number]>()
    for (const f of write.linkFirstClicks) {
      const k = key(f.linkId, f.recipientIdx)
      const seen = linkFirsts.get(k)
      if (!seen || f.at < seen[2]) linkFirsts.set(k, [f.linkId, f.recipientIdx, f.at])
    }
    const linkRows = [...linkFirsts.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const linkInserted = await insertUniques(client, 'link_uniques', 'link_id', linkRows)
    for (const [linkId, recipientIdx] of linkRows) {
      if (linkInserted.has(key(linkId, recipientIdx))) increment(linkUniques, linkId, 1)
    }

    await bumpCounters(client, 'message_counters', 'message_id', write.messageTallies, messageUniques)
    await bumpCounters(client, 'link_counters', 'link_id', write.linkTallies, linkUniques)

    const reasons = new Map<string, { messageId: number; reason: string; clicks: number }>()
    for (const r of write.reasons) {
      const k = `${r.messageId}\u0000${r.reason}`
      const entry = reasons.get(k)
      if (entry) entry.clicks += r.clicks
      else reasons.set(k, { ...r })
    }
    const reasonRows = [...reasons.values()].sort(
      (a, b) => a.messageId - b.messageId || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0),
    )
    if (reasonRows.length > 0) {
      await client.query(
        `INSERT INTO message_reason_counters (message_id, reason, clicks)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
         ON CONFLICT (message_id, reason) DO UPDATE SET clicks = message_reason_counters.clicks + excluded.clicks`,
        [reasonRows.map((r) => r.messageId), reasonRows.map((r) => r.reason), reasonRows.map((r) => r.clicks)],
      )
    }

    for (const b of write.breakdowns) addBreakdown(b.messageId, b.dimension, b.value, b.clicks)
    const breakdownRows = [...breakdowns.values()].sort(
      (a, b) => a.messageId - b.messageId || compare(a.dimension, b.dimension) || compare(a.value, b.value),
    )
    if (breakdownRows.length > 0) {
      await client.query(
        `INSERT INTO message_breakdowns (message_id, dimension, value, clicks)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])
         ON CONFLICT (message_id, dimension, value) DO UPDATE SET clicks = message_breakdowns.clicks + excluded.clicks`,
        [
          breakdownRows.map((r) => r.messageId),
          breakdownRows.map((r) => r.dimension),
          breakdownRows.map((r) => r.value),
          breakdownRows.map((r) => r.clicks),
        ],
      )
    }

    const series = new Map<string, [number, number, number]>()
    for (const s of write.series) {
      const k = key(s.messageId, s.bucket)
      const entry = series.get(k)
      if (entry) entry[2] += s.clicks
      else series.set(k, [s.messageId, s.bucket, s.clicks])
    }
    const seriesRows = [...series.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    if (seriesRows.length > 0) {
      await client.query(
        `INSERT INTO message_click_series (message_id, bucket, clicks)
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[])
         ON CONFLICT (message_id, bucket) DO UPDATE SET clicks = message_click_series.clicks + excluded.clicks`,
        [seriesRows.map((r) => r[0]), seriesRows.map((r) => r[1]), seriesRows.map((r) => r[2])],
      )
    }

    await insertWebhookEvents(client, write.events)
  })
}

/** The raw rows in the order given, in one statement (ids follow the array's order). */
async function insertClicks(db: Queryable, write: ClickWrite): Promise<void> {
  const clicks = write.clicks
  if (clicks.length === 0) return
  const userAgents = await userAgentIds(
    db,
    clicks.map((c) => c.userAgent),
  )
  await db.query(
    `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network, click_id)
     SELECT at, m, l, r, c, re, u, n, ci
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::bigint[],
       $8::text[], $9::text[]) WITH ORDINALITY AS t(at, m, l, r, c, re, u, n, ci, ord)
     ORDER BY ord`,
    [
      clicks.map((c) => c.at),
      clicks.map((c) => c.messageId),
      clicks.map((c) => c.linkId),
      clicks.map((c) => c.recipientIdx),
      clicks.map((c) => c.class),
      clicks.map((c) => c.reason),
      clicks.map((c) => (c.userAgent === null ? null : userAgents.get(c.userAgent)!)),
      clicks.map((c) => c.network),
      clicks.map((c) => c.clickId),
    ],
  )
}

/** Ids of the batch's user agents, inserting the new ones (sorted, so concurrent batches lock alike). */
async function userAgentIds(db: Queryable, agents: Array<string | null>): Promise<Map<string, number>> {
  const distinct = [...new Set(agents.filter((ua): ua is string => ua !== null))].sort()
  if (distinct.length === 0) return new Map()
  await db.query('INSERT INTO user_agents (ua) SELECT unnest($1::text[]) ON CONFLICT (ua) DO NOTHING', [distinct])
  const { rows } = await db.query<{ id: number; ua: string }>(
    'SELECT id, ua FROM user_agents WHERE ua = ANY($1::text[])',
    [distinct],
  )
  return new Map(rows.map((row) => [row.ua, row.id]))
}

/** Inserts first clicks (sorted by key); returns the keys (`id:recipient`) really inserted. */
async function insertUniques(
  db: Queryable,
  table: 'message_uniques' | 'link_uniques',
  column: 'message_id' | 'link_id',
  rows: Array<[number, number, number]>,
): Promise<Set<string>> {
  if (rows.length === 0) return new Set()
  const { rows: inserted } = await db.query<{ id: number; recipient_idx: number }>(
    `INSERT INTO ${table} (${column}, recipient_idx, first_at)
     SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[]) ON CONFLICT DO NOTHING
     RETURNING ${column} AS id, recipient_idx`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
  )
  return new Set(inserted.map((row) => key(row.id, row.recipient_idx)))
}

/** Adds the tallies, and the unique counts really inserted, to the counter rows, in id order. */
async function bumpCounters(
  db: Queryable,
  table: 'message_counters' | 'link_counters',
  column: 'message_id' | 'link_id',
  tallies: Map<number, ClickTally>,
  uniques: Map<number, number>,
): Promise<void> {
  const ids = [...new Set([...tallies.keys(), ...uniques.keys()])].sort(byNumber)
  if (ids.length === 0) return
  const of = (pick: keyof ClickTally) => ids.map((id) => tallies.get(id)?.[pick] ?? 0)
  await db.query(
    `UPDATE ${table} c SET clicks_total = c.clicks_total + d.total, clicks_unique = c.clicks_unique + d.uniq,
       clicks_bots = c.clicks_bots + d.bots, clicks_previews = c.clicks_previews + d.previews
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, total, uniq, bots, previews)
     WHERE c.${column} = d.id`,
    [ids, of('total'), ids.map((id) => uniques.get(id) ?? 0), of('bots'), of('previews')],
  )
}

function increment(map: Map<number, number>, id: number, by: number): void {
  map.set(id, (map.get(id) ?? 0) + by)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
