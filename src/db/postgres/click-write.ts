import type pg from 'pg'
import type { ClickRow } from '../../click.js'
import { firstClickBucket } from '../../first-click-delay.js'
import type { ClickCounters, ClickTimingRules } from '../store.js'
import { transaction, type Queryable } from './pool.js'
import { insertOutboxEvents, type OutboxEvent } from './webhooks.js'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

/** What the write needs of a message, read once per batch for all its messages. */
interface MessageFacts {
  tenantId: number
  publicId: string
  recipients: number
  links: number
  createdAt: number
  lastDeliveryAt: number | null
}

/** Facts for a click whose message is gone: no recipient can be valid for it. */
const NO_MESSAGE: MessageFacts = {
  tenantId: 0,
  publicId: '',
  recipients: 0,
  links: 0,
  createdAt: 0,
  lastDeliveryAt: null,
}

const key = (a: number, b: number) => `${a}:${b}`

/**
 * Stores a batch of clicks with the same meaning as the SQLite store's click write:
 * the issued-index check, too_fast and burst for clicks left human, uniques, repeats,
 * breakdowns, reasons, counters and click webhook events, all in one transaction. Each
 * kind of row goes in one statement over arrays (`unnest`), whatever the batch size;
 * uniques are decided by `ON CONFLICT DO NOTHING RETURNING`, so two instances writing
 * the same recipient's clicks at once count it once. Keys are written in sorted order,
 * so concurrent batches take row locks in the same order and cannot deadlock.
 */
export async function writeClicks(pool: pg.Pool, clicks: ClickRow[], rules?: ClickTimingRules): Promise<void> {
  if (clicks.length === 0) return
  await transaction(pool, async (client) => {
    const facts = await messageFacts(client, [...new Set(clicks.map((c) => c.messageId))])
    const factsOf = (messageId: number) => facts.get(messageId) ?? NO_MESSAGE
    // A token can only be valid for an index that was issued; anything else was a
    // lucky forgery and must not pass for a recipient.
    const recipientOf = (click: ClickRow) =>
      click.recipientIdx !== null && click.recipientIdx < factsOf(click.messageId).recipients
        ? click.recipientIdx
        : null

    const deliveredAt =
      rules && rules.tooFastMs > 0 ? await deliveryTimes(client, clicks, factsOf, recipientOf, rules) : null
    const rows = clicks.map((raw) => {
      const recipientIdx = recipientOf(raw)
      const click =
        rules && raw.class === 'human'
          ? timingVerdict(raw, recipientIdx, factsOf(raw.messageId), rules, deliveredAt!)
          : raw
      return { click, recipientIdx }
    })

    const userAgents = await userAgentIds(
      client,
      rows.map((r) => r.click.userAgent),
    )
    await client.query(
      `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network, click_id)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::bigint[],
         $8::text[], $9::text[])`,
      [
        rows.map((r) => r.click.at),
        rows.map((r) => r.click.messageId),
        rows.map((r) => r.click.linkId),
        rows.map((r) => r.recipientIdx),
        rows.map((r) => r.click.class),
        rows.map((r) => r.click.reason),
        rows.map((r) => (r.click.userAgent === null ? null : userAgents.get(r.click.userAgent)!)),
        rows.map((r) => r.click.network),
        rows.map((r) => r.click.clickId),
      ],
    )

    // The earliest click of the batch per recipient (and per link and recipient) is the
    // candidate first click; the database says whether an earlier batch had one.
    const messageCandidates = new Map<string, ClickRow & { recipientIdx: number }>()
    const linkCandidates = new Map<string, ClickRow & { recipientIdx: number }>()
    for (const { click, recipientIdx } of rows) {
      if (click.class !== 'human' || recipientIdx === null) continue
      const withIdx = { ...click, recipientIdx }
      const m = key(click.messageId, recipientIdx)
      if (!messageCandidates.has(m)) messageCandidates.set(m, withIdx)
      const l = key(click.linkId, recipientIdx)
      if (factsOf(click.messageId).links !== 1 && !linkCandidates.has(l)) linkCandidates.set(l, withIdx)
    }
    const firstOnMessage = await insertUniques(
      client,
      'message_uniques',
      'message_id',
      [...messageCandidates.values()].map((c) => [c.messageId, c.recipientIdx, c.at]),
    )
    const firstOnLink = await insertUniques(
      client,
      'link_uniques',
      'link_id',
      [...linkCandidates.values()].map((c) => [c.linkId, c.recipientIdx, c.at]),
    )

    const byMessage = new Map<number, ClickCounters>()
    const byLink = new Map<number, ClickCounters>()
    const reasons = new Map<string, number>()
    const breakdowns = new Map<string, number>()
    const repeats = new Map<string, number>()
    const tally = (map: Map<number, ClickCounters>, id: number): ClickCounters => {
      let entry = map.get(id)
      if (!entry) map.set(id, (entry = { total: 0, unique: 0, bots: 0, previews: 0 }))
      return entry
    }
    const add = (map: Map<string, number>, k: string) => map.set(k, (map.get(k) ?? 0) + 1)
    const counted = new Set<string>()
    const countedLinks = new Set<string>()
    for (const { click, recipientIdx } of rows) {
      const counts = tally(byMessage, click.messageId)
      const link = tally(byLink, click.linkId)
      if (click.class !== 'human') {
        if (click.class === 'preview') {
          counts.previews++
          link.previews++
        } else {
          counts.bots++
          link.bots++
        }
        add(reasons, `${click.messageId}\u0000${click.reason ?? 'unknown'}`)
        continue
      }
      counts.total++
      link.total++
      const message = factsOf(click.messageId)
      const dimension = (name: string, value: string | number) =>
        add(breakdowns, `${click.messageId}\u0000${name}\u0000${value}`)
      if (click.device !== null) dimension('device', click.device)
      if (click.os !== null) dimension('os', click.os)
      if (click.browser !== null) dimension('browser', click.browser)
      dimension('hour', Math.floor(click.at / HOUR_MS) % 24)
      dimension('day', Math.max(0, Math.floor((click.at - message.createdAt) / DAY_MS)))
      if (recipientIdx === null) continue
      const m = key(click.messageId, recipientIdx)
      const first = firstOnMessage.has(m) && !counted.has(m)
      if (first) {
        counted.add(m)
        counts.unique++
        dimension('first_click', firstClickBucket(click.at - message.createdAt))
      } else {
        repeats.set(m, Math.max(repeats.get(m) ?? 0, click.at))
      }
      const l = key(click.linkId, recipientIdx)
      const firstLink = message.links === 1 ? first : firstOnLink.has(l) && !countedLinks.has(l)
      if (firstLink) {
        countedLinks.add(l)
        link.unique++
      }
    }

    await bumpCounters(client, 'message_counters', 'message_id', byMessage)
    await bumpCounters(client, 'link_counters', 'link_id', byLink)
    const reasonRows = [...reasons].map(([k, n]) => [...k.split('\u0000'), n] as [string, string, number]).sort()
    if (reasonRows.length > 0) {
      await client.query(
        `INSERT INTO message_reason_counters (message_id, reason, clicks)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
         ON CONFLICT (message_id, reason) DO UPDATE SET clicks = message_reason_counters.clicks + excluded.clicks`,
        [reasonRows.map((r) => Number(r[0])), reasonRows.map((r) => r[1]), reasonRows.map((r) => r[2])],
      )
    }
    const breakdownRows = [...breakdowns]
      .map(([k, n]) => [...k.split('\u0000'), n] as [string, string, string, number])
      .sort()
    if (breakdownRows.length > 0) {
      await client.query(
        `INSERT INTO message_breakdowns (message_id, dimension, value, clicks)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])
         ON CONFLICT (message_id, dimension, value) DO UPDATE SET clicks = message_breakdowns.clicks + excluded.clicks`,
        [
          breakdownRows.map((r) => Number(r[0])),
          breakdownRows.map((r) => r[1]),
          breakdownRows.map((r) => r[2]),
          breakdownRows.map((r) => r[3]),
        ],
      )
    }
    const repeatRows = [...repeats]
      .map(([k, at]) => [...k.split(':').map(Number), at] as [number, number, number])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    if (repeatRows.length > 0) {
      await client.query(
        `UPDATE message_uniques u SET last_at = greatest(coalesce(u.last_at, u.first_at), r.at)
         FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS r(message_id, recipient_idx, at)
         WHERE u.message_id = r.message_id AND u.recipient_idx = r.recipient_idx`,
        [repeatRows.map((r) => r[0]), repeatRows.map((r) => r[1]), repeatRows.map((r) => r[2])],
      )
    }
    await insertClickEvents(client, rows, factsOf)
  })
}

async function messageFacts(db: Queryable, ids: number[]): Promise<Map<number, MessageFacts>> {
  const { rows } = await db.query<MessageFacts & { id: number }>(
    `SELECT m.id, m.tenant_id AS "tenantId", m.public_id AS "publicId", m.recipient_count AS recipients,
       m.created_at AS "createdAt", c.last_delivery_at AS "lastDeliveryAt",
       (SELECT count(*) FROM links WHERE message_id = m.id) AS links
     FROM messages m LEFT JOIN message_counters c ON c.message_id = m.id WHERE m.id = ANY($1::bigint[])`,
    [ids],
  )
  return new Map(rows.map(({ id, ...facts }) => [id, facts]))
}

/**
 * Recipients' own delivery times, read only for human clicks within tooFastMs of their
 * message's creation or latest delivery report: any later click is later than every
 * recipient's.
 */
async function deliveryTimes(
  db: Queryable,
  clicks: ClickRow[],
  factsOf: (messageId: number) => MessageFacts,
  recipientOf: (click: ClickRow) => number | null,
  rules: ClickTimingRules,
): Promise<Map<string, number | null>> {
  const wanted = new Map<string, [number, number]>()
  for (const click of clicks) {
    const idx = recipientOf(click)
    const message = factsOf(click.messageId)
    if (click.class !== 'human' || idx === null || message.lastDeliveryAt === null) continue
    const near = click.at < message.createdAt + rules.tooFastMs || click.at < message.lastDeliveryAt + rules.tooFastMs
    if (near) wanted.set(key(click.messageId, idx), [click.messageId, idx])
  }
  const found = new Map<string, number | null>()
  if (wanted.size === 0) return found
  const pairs = [...wanted.values()]
  const { rows } = await db.query<{ message_id: number; idx: number; delivery_at: number | null }>(
    `SELECT r.message_id, r.idx, r.delivery_at FROM recipients r
     JOIN unnest($1::bigint[], $2::int[]) AS w(message_id, idx) ON r.message_id = w.message_id AND r.idx = w.idx`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  )
  for (const row of rows) found.set(key(row.message_id, row.idx), row.delivery_at)
  return found
}

/** too_fast, then burst, for a click its user agent left human (the SQLite store's rule). */
function timingVerdict(
  click: ClickRow,
  recipientIdx: number | null,
  message: MessageFacts,
  rules: ClickTimingRules,
  deliveredAt: Map<string, number | null>,
): ClickRow {
  const threshold = rules.tooFastMs
  if (threshold > 0) {
    const nearCreation = click.at < message.createdAt + threshold
    const nearDelivery = message.lastDeliveryAt !== null && click.at < message.lastDeliveryAt + threshold
    if (nearCreation || nearDelivery) {
      const own =
        recipientIdx === null || message.lastDeliveryAt === null
          ? null
          : (deliveredAt.get(key(click.messageId, recipientIdx)) ?? null)
      // A click before the report's time counts too: carriers scan links before delivering.
      if (click.at < (own ?? message.createdAt) + threshold) return { ...click, class: 'bot', reason: 'too_fast' }
    }
  }
  if (
    recipientIdx !== null &&
    click.network !== null &&
    rules.isBurst(click.messageId, recipientIdx, click.network, click.at)
  ) {
    return { ...click, class: 'bot', reason: 'burst' }
  }
  return click
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

/** Inserts candidate first clicks; returns the keys (`id:recipient`) that were new. */
async function insertUniques(
  db: Queryable,
  table: 'message_uniques' | 'link_uniques',
  column: 'message_id' | 'link_id',
  rows: Array<[number, number, number]>,
): Promise<Set<string>> {
  if (rows.length === 0) return new Set()
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const { rows: inserted } = await db.query<{ id: number; recipient_idx: number }>(
    `INSERT INTO ${table} (${column}, recipient_idx, first_at)
     SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[]) ON CONFLICT DO NOTHING
     RETURNING ${column} AS id, recipient_idx`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
  )
  return new Set(inserted.map((row) => key(row.id, row.recipient_idx)))
}

async function bumpCounters(
  db: Queryable,
  table: 'message_counters' | 'link_counters',
  column: 'message_id' | 'link_id',
  deltas: Map<number, ClickCounters>,
): Promise<void> {
  const ids = [...deltas.keys()].sort((a, b) => a - b)
  if (ids.length === 0) return
  const of = (pick: keyof ClickCounters) => ids.map((id) => deltas.get(id)![pick])
  await db.query(
    `UPDATE ${table} c SET clicks_total = c.clicks_total + d.total, clicks_unique = c.clicks_unique + d.uniq,
       clicks_bots = c.clicks_bots + d.bots, clicks_previews = c.clicks_previews + d.previews
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, total, uniq, bots, previews)
     WHERE c.${column} = d.id`,
    [ids, of('total'), of('unique'), of('bots'), of('previews')],
  )
}

/** `click` outbox events for the batch's clicks whose tenants subscribe to them, in click order. */
async function insertClickEvents(
  db: Queryable,
  rows: Array<{ click: ClickRow; recipientIdx: number | null }>,
  factsOf: (messageId: number) => MessageFacts,
): Promise<void> {
  const tenants = [...new Set(rows.map((r) => factsOf(r.click.messageId).tenantId))]
  const { rows: hooks } = await db.query<{ id: number; tenant_id: number }>(
    `SELECT id, tenant_id FROM webhooks
     WHERE tenant_id = ANY($1::bigint[]) AND deleted_at IS NULL AND 'click' = ANY(string_to_array(events, ','))
     ORDER BY id`,
    [tenants],
  )
  if (hooks.length === 0) return
  const hooksOf = new Map<number, number[]>()
  for (const hook of hooks) hooksOf.set(hook.tenant_id, [...(hooksOf.get(hook.tenant_id) ?? []), hook.id])
  const wanted = rows.filter((r) => hooksOf.has(factsOf(r.click.messageId).tenantId))
  const linkIds = [...new Set(wanted.map((r) => r.click.linkId))]
  const links = await db.query<{ id: number; public_id: string; url: string }>(
    'SELECT id, public_id, url FROM links WHERE id = ANY($1::bigint[])',
    [linkIds],
  )
  const linkOf = new Map(links.rows.map((link) => [link.id, link]))
  const named = wanted.filter((r) => r.recipientIdx !== null)
  const recipients = await db.query<{ message_id: number; idx: number; external_id: string }>(
    `SELECT r.message_id, r.idx, r.external_id FROM recipients r
     JOIN unnest($1::bigint[], $2::int[]) AS w(message_id, idx) ON r.message_id = w.message_id AND r.idx = w.idx`,
    [named.map((r) => r.click.messageId), named.map((r) => r.recipientIdx)],
  )
  const recipientOf = new Map(recipients.rows.map((r) => [key(r.message_id, r.idx), r.external_id]))
  const events: OutboxEvent[] = []
  for (const { click, recipientIdx } of wanted) {
    const message = factsOf(click.messageId)
    const link = linkOf.get(click.linkId)!
    const recipientId = recipientIdx === null ? null : (recipientOf.get(key(click.messageId, recipientIdx)) ?? null)
    for (const webhookId of hooksOf.get(message.tenantId)!) {
      events.push({
        webhookId,
        type: 'click',
        at: click.at,
        body: (id) =>
          JSON.stringify({
            id,
            type: 'click',
            time: new Date(click.at).toISOString(),
            messageId: message.publicId,
            recipientId,
            link: { id: link.public_id, url: link.url },
            click: { class: click.class, reason: click.reason },
          }),
      })
    }
  }
  await insertOutboxEvents(db, events)
}
