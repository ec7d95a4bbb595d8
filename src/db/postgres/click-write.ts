import type pg from 'pg'
import { LRUCache } from 'lru-cache'
import type { ClickSettlement, ClickTally, ClickWrite } from '../store.js'
import { arrayLiteral } from './array-literal.js'
import { claimClickBatchSql } from './click-batches.js'
import { transaction, type Queryable } from './pool.js'
import { insertWebhookEvents } from './webhooks.js'

const key = (a: number, b: number) => `${a}:${b}`
const byNumber = (a: number, b: number) => a - b

/**
 * Stores a batch the click rules (src/clicks/click-batch.ts) worked out, with the
 * meaning of the SQLite store's writeClicks, in one transaction. Each kind of row goes
 * in one statement over arrays (`unnest`), whatever the batch size; first clicks are
 * decided by the insert's `RETURNING`, and the unique counters and the first-click
 * breakdown move only by the rows really inserted, so two instances writing the same
 * recipient's clicks at once count it once. Keys are written in sorted order, so
 * concurrent batches take row locks in the same order and cannot deadlock. A batch
 * with an id writes nothing when that id is stored already (click-batches.ts).
 *
 * Round trips are what a batch waits on, so the statements are few and prepared once
 * per connection: user agents are looked up before the transaction (almost always in
 * memory: an id never changes); inside it, one statement claims the batch id, inserts
 * the raw clicks and tries the first clicks, the sweep rule's pending clicks
 * go into `sweep_fetches` (only when there are any), and one more statement moves
 * every counter by what was really inserted (webhook events, when there are any, add
 * one). docs/adr/0073 describes the statements.
 */
export async function writeClicks(pool: pg.Pool, write: ClickWrite): Promise<void> {
  const agents = await userAgentIds(
    pool,
    write.clicks.map((c) => c.userAgent),
  )
  try {
    await transaction(pool, (client) =>
      storeBatch(client, write, agents, new Map(), { racing: false, settling: false }),
    )
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err
    // Another instance stored one of these first clicks while this batch ran: again,
    // with ON CONFLICT deciding which were first. The failed attempt's batch id claim
    // was rolled back with it, so the new attempt claims the id afresh.
    await transaction(pool, (client) => storeBatch(client, write, agents, new Map(), { racing: true, settling: false }))
  }
}

const UNIQUE_VIOLATION = '23505'

/**
 * Stores a settle pass (docs/adr/0084) in one transaction: its fetches settled (all
 * of them still unsettled, or nothing is stored and false returned), the raw rows of
 * clicks judged not human given their verdict, the pending counters lowered, earlier
 * first clicks put in place of the stored ones, and the settled clicks counted as a
 * batch's are. The fetches are locked in id order, so two passes cannot deadlock: the
 * second waits, then finds them settled.
 */
export async function settleClicks(pool: pg.Pool, settlement: ClickSettlement): Promise<boolean> {
  return transaction(pool, async (client) => {
    const ids = [...settlement.settled].sort(byNumber)
    const { rows } = await client.query<{ message_id: number }>(
      `UPDATE sweep_fetches f SET settled = true
       FROM (SELECT click_id FROM sweep_fetches WHERE click_id = ANY($1::bigint[]) AND NOT settled
             ORDER BY click_id FOR UPDATE) AS due
       WHERE f.click_id = due.click_id RETURNING f.message_id`,
      [ids],
    )
    if (rows.length !== ids.length) throw new SettledElsewhere()
    const settled = new Map<number, number>()
    for (const row of rows) increment(settled, Number(row.message_id), -1)
    const verdicts = [...settlement.verdicts].sort((a, b) => a.id - b.id)
    if (verdicts.length > 0) {
      await client.query(
        `UPDATE clicks c SET class = v.class, reason = v.reason
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, class, reason) WHERE c.id = v.id`,
        [verdicts.map((v) => v.id), verdicts.map((v) => v.class), verdicts.map((v) => v.reason)],
      )
    }
    const earlier = [...settlement.earlierFirstClicks].sort(
      (a, b) => a.messageId - b.messageId || a.recipientIdx - b.recipientIdx,
    )
    const moved: ClickWrite['breakdowns'] = []
    for (const first of earlier) {
      const { rowCount } = await client.query(
        `UPDATE message_uniques SET first_at = $1, last_at = greatest(coalesce(last_at, first_at), $2)
         WHERE message_id = $3 AND recipient_idx = $4 AND first_at = $5`,
        [first.at, first.lastAt, first.messageId, first.recipientIdx, first.storedAt],
      )
      if (rowCount !== 1) continue
      moved.push({ messageId: first.messageId, dimension: 'first_click', value: first.storedBucket, clicks: -1 })
      moved.push({ messageId: first.messageId, dimension: 'first_click', value: first.delayBucket, clicks: 1 })
    }
    // The settled clicks' raw rows are stored already: only first clicks and counters move.
    const write = {
      ...settlement.write,
      clicks: [],
      pending: [],
      breakdowns: [...settlement.write.breakdowns, ...moved],
    }
    await storeBatch(client, write, new Map(), settled, { racing: true, settling: true })
    await client.query('DELETE FROM sweep_fetches WHERE settled AND at < $1', [settlement.forgetBefore])
    return true
  }).catch((err: unknown) => {
    if (err instanceof SettledElsewhere) return false
    throw err
  })
}

/** Thrown inside a settle transaction when one of its fetches was settled already: nothing is stored. */
class SettledElsewhere extends Error {}

/**
 * What a batch or a settle pass stores: the batch id claimed, and only if it was, raw
 * clicks and first clicks, the pending clicks' fetches, then every counter, `pending`
 * (message id → change of its pending counter) included. Settling, a link first click earlier than the stored
 * one replaces it.
 */
async function storeBatch(
  client: Queryable,
  write: ClickWrite,
  agents: Map<string, number>,
  pending: Map<number, number>,
  { racing, settling }: { racing: boolean; settling: boolean },
): Promise<void> {
  const firsts = [...write.firstClicks].sort((a, b) => a.messageId - b.messageId || a.recipientIdx - b.recipientIdx)
  const linkFirsts = new Map<string, [number, number, number]>()
  for (const f of write.linkFirstClicks) {
    const k = key(f.linkId, f.recipientIdx)
    const seen = linkFirsts.get(k)
    if (!seen || f.at < seen[2]) linkFirsts.set(k, [f.linkId, f.recipientIdx, f.at])
  }
  const linkRows = [...linkFirsts.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const inserted = await insertRows(client, write, agents, firsts, linkRows, racing)
  // A retried batch whose first attempt committed is written already.
  if (!inserted.claimed) return
  if (write.pending.length > 0) await insertSweepFetches(client, write, inserted.clickIds, pending)

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
    const isNew = inserted.messages.has(key(first.messageId, first.recipientIdx))
    if (isNew) {
      increment(messageUniques, first.messageId, 1)
      if (first.linkId !== null) increment(linkUniques, first.linkId, 1)
      addBreakdown(first.messageId, 'first_click', first.delayBucket, 1)
    }
    if (!isNew || first.repeated) lastClicks.push([first.messageId, first.recipientIdx, first.lastAt])
  }
  const earlierLinkFirsts: Array<[number, number, number]> = []
  for (const row of linkRows) {
    if (inserted.links.has(key(row[0], row[1]))) increment(linkUniques, row[0], 1)
    else if (settling) earlierLinkFirsts.push(row)
  }
  if (earlierLinkFirsts.length > 0) {
    await client.query(
      `UPDATE link_uniques u SET first_at = r.at
         FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS r(link_id, recipient_idx, at)
         WHERE u.link_id = r.link_id AND u.recipient_idx = r.recipient_idx AND u.first_at > r.at`,
      [earlierLinkFirsts.map((r) => r[0]), earlierLinkFirsts.map((r) => r[1]), earlierLinkFirsts.map((r) => r[2])],
    )
  }

  const reasons = new Map<string, { messageId: number; reason: string; clicks: number }>()
  for (const r of write.reasons) {
    const k = `${r.messageId}\u0000${r.reason}`
    const entry = reasons.get(k)
    if (entry) entry.clicks += r.clicks
    else reasons.set(k, { ...r })
  }
  const reasonRows = [...reasons.values()].sort((a, b) => a.messageId - b.messageId || compare(a.reason, b.reason))
  for (const b of write.breakdowns) addBreakdown(b.messageId, b.dimension, b.value, b.clicks)
  const breakdownRows = [...breakdowns.values()].sort(
    (a, b) => a.messageId - b.messageId || compare(a.dimension, b.dimension) || compare(a.value, b.value),
  )
  const series = new Map<string, [number, number, number]>()
  for (const s of write.series) {
    const k = key(s.messageId, s.bucket)
    const entry = series.get(k)
    if (entry) entry[2] += s.clicks
    else series.set(k, [s.messageId, s.bucket, s.clicks])
  }
  const seriesRows = [...series.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const messageIds = [...new Set([...write.messageTallies.keys(), ...messageUniques.keys(), ...pending.keys()])].sort(
    byNumber,
  )
  const linkIds = [...new Set([...write.linkTallies.keys(), ...linkUniques.keys()])].sort(byNumber)

  await client.query({
    name: 'smslinks-click-counters',
    text: MOVE_COUNTERS,
    values: [
      arrayLiteral(lastClicks, (r) => r[0]),
      arrayLiteral(lastClicks, (r) => r[1]),
      arrayLiteral(lastClicks, (r) => r[2]),
      ...counterDeltas(messageIds, write.messageTallies, messageUniques),
      arrayLiteral(messageIds, (id) => pending.get(id) ?? 0),
      ...counterDeltas(linkIds, write.linkTallies, linkUniques),
      arrayLiteral(reasonRows, (r) => r.messageId),
      arrayLiteral(reasonRows, (r) => r.reason),
      arrayLiteral(reasonRows, (r) => r.clicks),
      arrayLiteral(breakdownRows, (r) => r.messageId),
      arrayLiteral(breakdownRows, (r) => r.dimension),
      arrayLiteral(breakdownRows, (r) => r.value),
      arrayLiteral(breakdownRows, (r) => r.clicks),
      arrayLiteral(seriesRows, (r) => r[0]),
      arrayLiteral(seriesRows, (r) => r[1]),
      arrayLiteral(seriesRows, (r) => r[2]),
    ],
  })

  await insertWebhookEvents(client, write.events)
}

/** The sweep rule's pending clicks as fetches to settle; each adds one to `pending` for its message. */
async function insertSweepFetches(
  client: Queryable,
  write: ClickWrite,
  clickIds: number[],
  pending: Map<number, number>,
): Promise<void> {
  const fetches = write.pending.map(({ index, identity }) => ({
    id: clickIds[index]!,
    click: write.clicks[index]!,
    identity,
  }))
  await client.query(
    `INSERT INTO sweep_fetches (click_id, message_id, link_id, recipient_idx, identity, at)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::bigint[])`,
    [
      arrayLiteral(fetches, (f) => f.id),
      arrayLiteral(fetches, (f) => f.click.messageId),
      arrayLiteral(fetches, (f) => f.click.linkId),
      arrayLiteral(fetches, (f) => f.click.recipientIdx),
      arrayLiteral(fetches, (f) => f.identity),
      arrayLiteral(fetches, (f) => f.click.at),
    ],
  )
  for (const f of fetches) increment(pending, f.click.messageId, 1)
}

/**
 * The batch id claimed ($17, none when null; click-batches.ts), then, only when it was,
 * the raw clicks in the batch's order (ids follow it) and the first clicks tried on
 * both unique tables; answers whether the id was claimed, which first clicks were
 * really inserted and, when `$16` is true, the raw clicks' ids. First clicks already stored are left out by
 * `NOT EXISTS`, and the rest inserted plainly, which costs far less per row than ON
 * CONFLICT's speculative insertion; a first click another transaction stores
 * meanwhile then fails the statement with a unique violation, and the batch is
 * written again with `racing`: ON CONFLICT DO NOTHING.
 */
function insertRowsSql(racing: boolean): string {
  const firsts = (table: string, column: string, first: number) =>
    `INSERT INTO ${table} (${column}, recipient_idx, first_at)
  SELECT id, r, a FROM unnest($${first}::bigint[], $${first + 1}::int[], $${first + 2}::bigint[]) AS f(id, r, a)` +
    '\n  WHERE (SELECT claimed FROM go)' +
    (racing
      ? ' ON CONFLICT DO NOTHING'
      : ` AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.${column} = f.id AND t.recipient_idx = f.r)`) +
    `\n  RETURNING ${column}, recipient_idx`
  return `WITH claim AS (
  ${claimClickBatchSql('$17::uuid', '$18::bigint')}
), go AS (
  SELECT $17::uuid IS NULL OR EXISTS (SELECT 1 FROM claim) AS claimed
), raw AS (
  INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network, click_id)
  SELECT at, m, l, r, c, re, u, n, ci
  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::bigint[],
    $8::text[], $9::text[]) WITH ORDINALITY AS t(at, m, l, r, c, re, u, n, ci, ord)
  WHERE (SELECT claimed FROM go)
  ORDER BY ord
  RETURNING id
), message_firsts AS (
  ${firsts('message_uniques', 'message_id', 10)}
), link_firsts AS (
  ${firsts('link_uniques', 'link_id', 13)}
)
SELECT 'claimed' AS kind, 0::bigint AS id, 0 AS recipient_idx FROM go WHERE claimed
UNION ALL SELECT 'message', message_id, recipient_idx FROM message_firsts
UNION ALL SELECT 'link', link_id, recipient_idx FROM link_firsts
UNION ALL SELECT 'click', id, 0 FROM raw WHERE $16::boolean`
}

const INSERT_ROWS = insertRowsSql(false)
const INSERT_ROWS_RACING = insertRowsSql(true)

async function insertRows(
  db: Queryable,
  write: ClickWrite,
  agents: Map<string, number>,
  firsts: ClickWrite['firstClicks'],
  linkRows: Array<[number, number, number]>,
  racing: boolean,
): Promise<{ claimed: boolean; messages: Set<string>; links: Set<string>; clickIds: number[] }> {
  const clicks = write.clicks
  const { rows } = await db.query<{
    kind: 'claimed' | 'message' | 'link' | 'click'
    id: number
    recipient_idx: number
  }>({
    name: racing ? 'smslinks-click-rows-racing' : 'smslinks-click-rows',
    text: racing ? INSERT_ROWS_RACING : INSERT_ROWS,
    values: [
      arrayLiteral(clicks, (c) => c.at),
      arrayLiteral(clicks, (c) => c.messageId),
      arrayLiteral(clicks, (c) => c.linkId),
      arrayLiteral(clicks, (c) => c.recipientIdx),
      arrayLiteral(clicks, (c) => c.class),
      arrayLiteral(clicks, (c) => c.reason),
      arrayLiteral(clicks, (c) => (c.userAgent === null ? null : agents.get(c.userAgent)!)),
      arrayLiteral(clicks, (c) => c.network),
      arrayLiteral(clicks, (c) => c.clickId),
      arrayLiteral(firsts, (f) => f.messageId),
      arrayLiteral(firsts, (f) => f.recipientIdx),
      arrayLiteral(firsts, (f) => f.at),
      arrayLiteral(linkRows, (r) => r[0]),
      arrayLiteral(linkRows, (r) => r[1]),
      arrayLiteral(linkRows, (r) => r[2]),
      write.pending.length > 0,
      write.batchId ?? null,
      Date.now(),
    ],
  })
  const inserted = { claimed: false, messages: new Set<string>(), links: new Set<string>(), clickIds: [] as number[] }
  for (const row of rows) {
    if (row.kind === 'claimed') inserted.claimed = true
    else if (row.kind === 'click') inserted.clickIds.push(Number(row.id))
    else (row.kind === 'message' ? inserted.messages : inserted.links).add(key(row.id, row.recipient_idx))
  }
  // Ids are drawn in the order the rows are inserted (ORDER BY ord): sorted, they are the batch's order.
  inserted.clickIds.sort(byNumber)
  return inserted
}

/**
 * Every counter a batch or a settle pass moves, in one statement: the latest click of
 * recipients who clicked before (or more than once), the message counters (pending
 * included) and link counters, reasons, breakdowns and the click series, each key once.
 */
const MOVE_COUNTERS = `WITH last_clicks AS (
  UPDATE message_uniques u SET last_at = greatest(coalesce(u.last_at, u.first_at), r.at)
  FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS r(message_id, recipient_idx, at)
  WHERE u.message_id = r.message_id AND u.recipient_idx = r.recipient_idx
), message_counts AS (
  UPDATE message_counters c SET clicks_total = c.clicks_total + d.total, clicks_unique = c.clicks_unique + d.uniq,
    clicks_bots = c.clicks_bots + d.bots, clicks_previews = c.clicks_previews + d.previews,
    clicks_pending = c.clicks_pending + d.pending
  FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
    AS d(id, total, uniq, bots, previews, pending)
  WHERE c.message_id = d.id
), link_counts AS (
  UPDATE link_counters c SET clicks_total = c.clicks_total + d.total, clicks_unique = c.clicks_unique + d.uniq,
    clicks_bots = c.clicks_bots + d.bots, clicks_previews = c.clicks_previews + d.previews
  FROM unnest($10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[]) AS d(id, total, uniq, bots, previews)
  WHERE c.link_id = d.id
), reason_counts AS (
  INSERT INTO message_reason_counters (message_id, reason, clicks)
  SELECT * FROM unnest($15::bigint[], $16::text[], $17::bigint[])
  ON CONFLICT (message_id, reason) DO UPDATE SET clicks = message_reason_counters.clicks + excluded.clicks
), breakdown_counts AS (
  INSERT INTO message_breakdowns (message_id, dimension, value, clicks)
  SELECT * FROM unnest($18::bigint[], $19::text[], $20::text[], $21::bigint[])
  ON CONFLICT (message_id, dimension, value) DO UPDATE SET clicks = message_breakdowns.clicks + excluded.clicks
)
INSERT INTO message_click_series (message_id, bucket, clicks)
SELECT * FROM unnest($22::bigint[], $23::int[], $24::bigint[])
ON CONFLICT (message_id, bucket) DO UPDATE SET clicks = message_click_series.clicks + excluded.clicks`

/** User agent ids by text; a row of user_agents is never changed or deleted, so an id may be kept in memory. */
const knownAgents = new WeakMap<pg.Pool, LRUCache<string, number>>()

/**
 * Ids of the batch's user agents: from memory, else inserting the new ones (sorted, so
 * concurrent batches lock alike) and reading the rest in the same statement. One that
 * another transaction committed after that statement's snapshot is read once more.
 */
async function userAgentIds(pool: pg.Pool, agents: Array<string | null>): Promise<Map<string, number>> {
  let known = knownAgents.get(pool)
  if (!known) knownAgents.set(pool, (known = new LRUCache<string, number>({ max: 10_000 })))
  const ids = new Map<string, number>()
  const missing: string[] = []
  for (const ua of new Set(agents)) {
    if (ua === null) continue
    const id = known.get(ua)
    if (id === undefined) missing.push(ua)
    else ids.set(ua, id)
  }
  if (missing.length === 0) return ids
  missing.sort()
  const found = await pool.query<{ id: number; ua: string }>(
    `WITH added AS (INSERT INTO user_agents (ua) SELECT unnest($1::text[]) ON CONFLICT (ua) DO NOTHING RETURNING id, ua)
     SELECT id, ua FROM added UNION ALL SELECT id, ua FROM user_agents WHERE ua = ANY($1::text[])`,
    [missing],
  )
  for (const row of found.rows) ids.set(row.ua, row.id)
  const late = missing.filter((ua) => !ids.has(ua))
  if (late.length > 0) {
    const again = await pool.query<{ id: number; ua: string }>(
      'SELECT id, ua FROM user_agents WHERE ua = ANY($1::text[])',
      [late],
    )
    for (const row of again.rows) ids.set(row.ua, row.id)
  }
  for (const ua of missing) known.set(ua, ids.get(ua)!)
  return ids
}

/** Counter deltas of `ids` (sorted) as five arrays: id, total, unique, bots, previews. */
function counterDeltas(ids: number[], tallies: Map<number, ClickTally>, uniques: Map<number, number>) {
  const of = (pick: keyof ClickTally) => arrayLiteral(ids, (id) => tallies.get(id)?.[pick] ?? 0)
  return [
    arrayLiteral(ids, (id) => id),
    of('total'),
    arrayLiteral(ids, (id) => uniques.get(id) ?? 0),
    of('bots'),
    of('previews'),
  ]
}

function increment(map: Map<number, number>, id: number, by: number): void {
  map.set(id, (map.get(id) ?? 0) + by)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
