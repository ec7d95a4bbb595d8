import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type { ClickPosition, ClickRow, ExportedClick } from '../../click.js'
import type {
  BreakdownCount,
  ClickMessageFacts,
  ClickSettlement,
  ClickStore,
  ClickWrite,
  DeliveryTime,
  DueFetch,
  MessageCounters,
  SweepWindow,
} from '../store.js'
import { counters, unsubscribeCounts, type CounterRow, type MessageCounterRow } from '../rows.js'

/** User agents remembered by the writer, so a repeat costs no lookup. */
const USER_AGENT_MEMORY = 10_000

function prepare(db: SqliteDatabase) {
  return {
    findUserAgent: db.prepare('SELECT id FROM user_agents WHERE ua = ?'),
    insertUserAgent: db.prepare('INSERT INTO user_agents (ua) VALUES (?)'),
    insertClick: db.prepare(
      `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network, click_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertMessageUnique: db.prepare(
      'INSERT INTO message_uniques (message_id, recipient_idx, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    insertLinkUnique: db.prepare(
      'INSERT INTO link_uniques (link_id, recipient_idx, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    bumpMessageCounters: db.prepare(
      `UPDATE message_counters SET clicks_total = clicks_total + ?, clicks_unique = clicks_unique + ?,
       clicks_bots = clicks_bots + ?, clicks_previews = clicks_previews + ? WHERE message_id = ?`,
    ),
    bumpLinkCounters: db.prepare(
      `UPDATE link_counters SET clicks_total = clicks_total + ?, clicks_unique = clicks_unique + ?,
       clicks_bots = clicks_bots + ?, clicks_previews = clicks_previews + ? WHERE link_id = ?`,
    ),
    messageCounters: db.prepare('SELECT * FROM message_counters WHERE message_id = ?'),
    linkCounters: db.prepare(
      `SELECT l.id AS link_id, c.clicks_total, c.clicks_unique, c.clicks_bots, c.clicks_previews
       FROM links l LEFT JOIN link_counters c ON c.link_id = l.id WHERE l.message_id = ? ORDER BY l.position`,
    ),
    findClick: db.prepare(
      `SELECT click_id AS clickId, at, message_id AS messageId, link_id AS linkId, recipient_idx AS recipientIdx, class
       FROM clicks WHERE click_id = ? ORDER BY id LIMIT 1`,
    ),
    // What the click rules need of a message, read once per message per batch.
    messageFacts: db.prepare(
      `SELECT m.tenant_id AS tenantId, m.public_id AS publicId, m.recipient_count AS recipients,
         m.created_at AS createdAt, c.last_delivery_at AS lastDeliveryAt,
         (SELECT count(*) FROM links WHERE message_id = m.id) AS links
       FROM messages m LEFT JOIN message_counters c ON c.message_id = m.id WHERE m.id = ?`,
    ),
    recipientDeliveredAt: db.prepare(
      'SELECT delivery_at AS at, delivery_at_arrival AS arrival FROM recipients WHERE message_id = ? AND idx = ?',
    ),
    insertSweepFetch: db.prepare(
      `INSERT INTO sweep_fetches (click_id, message_id, link_id, recipient_idx, identity, at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    addPending: db.prepare('UPDATE message_counters SET clicks_pending = clicks_pending + ? WHERE message_id = ?'),
    dueFetches: db.prepare(
      `SELECT f.click_id AS id, f.at, f.message_id AS messageId, f.link_id AS linkId, f.recipient_idx AS recipientIdx,
         f.identity, u.ua AS userAgent, c.network, c.click_id AS clickId
       FROM sweep_fetches f LEFT JOIN clicks c ON c.id = f.click_id LEFT JOIN user_agents u ON u.id = c.user_agent_id
       WHERE f.settled = 0 AND f.at < ? ORDER BY f.at LIMIT ?`,
    ),
    sweepNeighbours: db.prepare(
      `SELECT identity, recipient_idx AS recipientIdx, at FROM sweep_fetches
       WHERE message_id = ? AND identity = ? AND at BETWEEN ? AND ?`,
    ),
    sweepNeighboursBefore: db.prepare(
      `SELECT identity, recipient_idx AS recipientIdx, at FROM sweep_fetches
       WHERE message_id = ? AND identity = ? AND at >= ? AND at < ? ORDER BY at DESC LIMIT ?`,
    ),
    sweepNeighboursAfter: db.prepare(
      `SELECT identity, recipient_idx AS recipientIdx, at FROM sweep_fetches
       WHERE message_id = ? AND identity = ? AND at > ? AND at <= ? ORDER BY at LIMIT ?`,
    ),
    firstClickTime: db
      .prepare('SELECT first_at FROM message_uniques WHERE message_id = ? AND recipient_idx = ?')
      .pluck(),
    settleFetch: db
      .prepare('UPDATE sweep_fetches SET settled = 1 WHERE click_id = ? AND settled = 0 RETURNING message_id')
      .pluck(),
    setVerdict: db.prepare('UPDATE clicks SET class = ?, reason = ? WHERE id = ?'),
    lowerFirstClick: db.prepare(
      `UPDATE message_uniques SET first_at = ?, last_at = max(coalesce(last_at, first_at), ?)
       WHERE message_id = ? AND recipient_idx = ? AND first_at = ?`,
    ),
    lowerLinkFirstClick: db.prepare(
      'UPDATE link_uniques SET first_at = ? WHERE link_id = ? AND recipient_idx = ? AND first_at > ?',
    ),
    forgetSettled: db.prepare('DELETE FROM sweep_fetches WHERE settled = 1 AND at < ?'),
    addReasonClicks: db.prepare(
      `INSERT INTO message_reason_counters (message_id, reason, clicks) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`,
    ),
    addBreakdownClicks: db.prepare(
      `INSERT INTO message_breakdowns (message_id, dimension, value, clicks) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`,
    ),
    addSeriesClicks: db.prepare(
      `INSERT INTO message_click_series (message_id, bucket, clicks) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`,
    ),
    clickSeries: db.prepare(
      'SELECT bucket, clicks FROM message_click_series WHERE message_id = ? AND clicks > 0 ORDER BY bucket',
    ),
    reasonCounters: db.prepare('SELECT reason, clicks FROM message_reason_counters WHERE message_id = ?'),
    breakdownCounters: db.prepare('SELECT dimension, value, clicks FROM message_breakdowns WHERE message_id = ?'),
    listClicks: db.prepare(
      `SELECT 0 AS xid, c.id, c.at, l.public_id AS linkPublicId, r.external_id AS recipientId, c.class, c.reason,
         u.ua AS userAgent
       FROM clicks c JOIN links l ON l.id = c.link_id
       LEFT JOIN recipients r ON r.message_id = c.message_id AND r.idx = c.recipient_idx
       LEFT JOIN user_agents u ON u.id = c.user_agent_id
       WHERE c.message_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
    ),
    setLastClick: db.prepare(
      'UPDATE message_uniques SET last_at = max(coalesce(last_at, first_at), ?) WHERE message_id = ? AND recipient_idx = ?',
    ),
    lastHumanClick: db
      .prepare('SELECT coalesce(last_at, first_at) FROM message_uniques WHERE message_id = ? AND recipient_idx = ?')
      .pluck(),
    revenueOf: db.prepare('SELECT currency, amount FROM message_revenue WHERE message_id = ? ORDER BY currency'),
    insertWebhookEvent: db.prepare(
      `INSERT INTO webhook_events (public_id, webhook_id, type, body, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
  }
}

/** Raw clicks, first clicks per recipient, and the counters and breakdowns the click write moves. */
export class SqliteClicks implements ClickStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
    this.write = connection.write
  }

  private readonly userAgentIds = new Map<string, number>()

  async clickMessageFacts(messageIds: number[]): Promise<Map<number, ClickMessageFacts>> {
    const facts = new Map<number, ClickMessageFacts>()
    for (const id of messageIds) {
      const row = this.sql.messageFacts.get(id) as ClickMessageFacts | undefined
      if (row) facts.set(id, row)
    }
    return facts
  }

  async recipientsDeliveredAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, DeliveryTime>> {
    const times = new Map<number, DeliveryTime>()
    for (const idx of recipientIdxs) {
      const row = this.sql.recipientDeliveredAt.get(messageId, idx) as
        { at: number | null; arrival: number } | undefined
      if (row !== undefined && row.at !== null) times.set(idx, { at: row.at, arrival: row.arrival === 1 })
    }
    return times
  }

  async dueSweepFetches(before: number, limit: number): Promise<DueFetch[]> {
    return this.sql.dueFetches.all(before, limit) as DueFetch[]
  }

  async sweepNeighbours(
    messageId: number,
    identities: string[],
    { first, last, spanMs, nearest }: SweepWindow,
  ): Promise<Array<{ identity: string; recipientIdx: number; at: number }>> {
    type Row = { identity: string; recipientIdx: number; at: number }
    return identities.flatMap((identity) => [
      ...(this.sql.sweepNeighboursBefore.all(messageId, identity, first - spanMs, first, nearest) as Row[]),
      ...(this.sql.sweepNeighbours.all(messageId, identity, first, last) as Row[]),
      ...(this.sql.sweepNeighboursAfter.all(messageId, identity, last, last + spanMs, nearest) as Row[]),
    ])
  }

  async firstClickTimes(messageId: number, recipientIdxs: number[]): Promise<Map<number, number>> {
    const times = new Map<number, number>()
    for (const idx of recipientIdxs) {
      const at = this.sql.firstClickTime.get(messageId, idx) as number | undefined
      if (at !== undefined) times.set(idx, at)
    }
    return times
  }

  async settleClicks(settlement: ClickSettlement): Promise<boolean> {
    try {
      this.write(() => this.#settle(settlement))
      return true
    } catch (err) {
      if (err instanceof SettledElsewhere) return false
      throw err
    }
  }

  /** A settle pass's statements, inside its transaction; throws SettledElsewhere to store nothing. */
  #settle(settlement: ClickSettlement): void {
    const sql = this.sql
    const settledPerMessage = new Map<number, number>()
    for (const id of settlement.settled) {
      const messageId = sql.settleFetch.get(id) as number | undefined
      if (messageId === undefined) throw new SettledElsewhere()
      increment(settledPerMessage, messageId)
    }
    for (const [messageId, n] of settledPerMessage) sql.addPending.run(-n, messageId)
    for (const v of settlement.verdicts) sql.setVerdict.run(v.class, v.reason, v.id)
    for (const first of settlement.earlierFirstClicks) {
      const { messageId, recipientIdx } = first
      if (sql.lowerFirstClick.run(first.at, first.lastAt, messageId, recipientIdx, first.storedAt).changes === 1) {
        sql.addBreakdownClicks.run(messageId, 'first_click', first.storedBucket, -1)
        sql.addBreakdownClicks.run(messageId, 'first_click', first.delayBucket, 1)
      }
    }
    this.#count(settlement.write, true)
    sql.forgetSettled.run(settlement.forgetBefore)
  }

  async writeClicks(write: ClickWrite): Promise<void> {
    try {
      this.write(() => this.#store(write))
    } catch (err) {
      // User agents the failed batch inserted were rolled back with it: forget their ids.
      this.userAgentIds.clear()
      throw err
    }
  }

  /** The batch's statements, inside the transaction: rows, then first clicks, then counters. */
  #store(write: ClickWrite): void {
    const sql = this.sql
    const ids: number[] = new Array(write.clicks.length)
    for (let i = 0; i < write.clicks.length; i++) {
      const click = write.clicks[i]!
      ids[i] = Number(
        sql.insertClick.run(
          click.at,
          click.messageId,
          click.linkId,
          click.recipientIdx,
          click.class,
          click.reason,
          click.userAgent === null ? null : this.#userAgentId(click.userAgent),
          click.network,
          click.clickId,
        ).lastInsertRowid,
      )
    }
    const pending = new Map<number, number>()
    for (const { index, identity } of write.pending) {
      const click = write.clicks[index]!
      sql.insertSweepFetch.run(ids[index], click.messageId, click.linkId, click.recipientIdx, identity, click.at)
      increment(pending, click.messageId)
    }
    for (const [messageId, n] of pending) sql.addPending.run(n, messageId)
    this.#count(write, false)
  }

  /**
   * What a write counts: first clicks, counters, reasons, breakdowns, series, events.
   * Settling, a link first click earlier than the stored one replaces it.
   */
  #count(write: ClickWrite, settling: boolean): void {
    const sql = this.sql
    // What the inserts that really happened add to the unique counters and the first-click breakdown.
    const messageUniques = new Map<number, number>()
    const linkUniques = new Map<number, number>()
    const delays = new Map<number, Map<string, number>>()
    for (const first of write.firstClicks) {
      const inserted = sql.insertMessageUnique.run(first.messageId, first.recipientIdx, first.at).changes === 1
      if (inserted) {
        increment(messageUniques, first.messageId)
        if (first.linkId !== null) increment(linkUniques, first.linkId)
        let buckets = delays.get(first.messageId)
        if (!buckets) delays.set(first.messageId, (buckets = new Map()))
        buckets.set(first.delayBucket, (buckets.get(first.delayBucket) ?? 0) + 1)
      }
      if (!inserted || first.repeated) sql.setLastClick.run(first.lastAt, first.messageId, first.recipientIdx)
    }
    for (const first of write.linkFirstClicks) {
      if (sql.insertLinkUnique.run(first.linkId, first.recipientIdx, first.at).changes === 1) {
        increment(linkUniques, first.linkId)
      } else if (settling) {
        sql.lowerLinkFirstClick.run(first.at, first.linkId, first.recipientIdx, first.at)
      }
    }
    for (const [id, t] of write.messageTallies) {
      sql.bumpMessageCounters.run(t.total, messageUniques.get(id) ?? 0, t.bots, t.previews, id)
    }
    for (const [id, t] of write.linkTallies) {
      sql.bumpLinkCounters.run(t.total, linkUniques.get(id) ?? 0, t.bots, t.previews, id)
    }
    for (const r of write.reasons) sql.addReasonClicks.run(r.messageId, r.reason, r.clicks)
    for (const b of write.breakdowns) sql.addBreakdownClicks.run(b.messageId, b.dimension, b.value, b.clicks)
    for (const s of write.series) sql.addSeriesClicks.run(s.messageId, s.bucket, s.clicks)
    for (const [id, buckets] of delays) {
      for (const [bucket, n] of buckets) sql.addBreakdownClicks.run(id, 'first_click', bucket, n)
    }
    for (const e of write.events) sql.insertWebhookEvent.run(e.publicId, e.webhookId, e.type, e.body, e.at, e.at)
  }

  #userAgentId(ua: string): number {
    let id = this.userAgentIds.get(ua)
    if (id !== undefined) return id
    const row = this.sql.findUserAgent.get(ua) as { id: number } | undefined
    id = row ? row.id : Number(this.sql.insertUserAgent.run(ua).lastInsertRowid)
    if (this.userAgentIds.size >= USER_AGENT_MEMORY) this.userAgentIds.clear()
    this.userAgentIds.set(ua, id)
    return id
  }

  async messageCounters(messageId: number): Promise<MessageCounters> {
    const links = this.sql.linkCounters.all(messageId) as Array<CounterRow & { link_id: number }>
    const row = this.sql.messageCounters.get(messageId) as MessageCounterRow | undefined
    const byReason: Record<string, number> = {}
    for (const { reason, clicks } of this.sql.reasonCounters.all(messageId) as Array<{
      reason: string
      clicks: number
    }>) {
      byReason[reason] = clicks
    }
    return {
      clicks: counters(row),
      pendingClicks: row?.clicks_pending ?? 0,
      byReason,
      breakdowns: this.sql.breakdownCounters.all(messageId) as BreakdownCount[],
      conversions: row?.conversions ?? 0,
      revenue: Object.fromEntries(
        (this.sql.revenueOf.all(messageId) as Array<{ currency: string; amount: number }>).map((r) => [
          r.currency,
          r.amount,
        ]),
      ),
      links: links.map((row) => ({ linkId: row.link_id, clicks: counters(row) })),
      deliveries: { delivered: row?.delivered ?? 0, failed: row?.failed ?? 0 },
      unsubscribes: { linkVisits: row?.unsubscribe_visits ?? 0, bySource: unsubscribeCounts(row) },
    }
  }

  async messageClickSeries(messageId: number): Promise<Array<{ bucket: number; clicks: number }>> {
    return this.sql.clickSeries.all(messageId) as Array<{ bucket: number; clicks: number }>
  }

  /** One writer: ids are committed in order, and every click's xid is 0, so none sorts after a later xid. */
  async listClicks(messageId: number, after: ClickPosition, limit: number): Promise<ExportedClick[]> {
    if (after.xid > 0) return []
    return this.sql.listClicks.all(messageId, after.id, limit) as ExportedClick[]
  }

  async findClick(
    clickId: string,
  ): Promise<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'> | null> {
    return (this.sql.findClick.get(clickId) as ClickRow | undefined) ?? null
  }

  async lastHumanClick(messageId: number, recipientIdx: number): Promise<number | null> {
    return (this.sql.lastHumanClick.get(messageId, recipientIdx) as number | undefined) ?? null
  }
}

retryingWhileBusy(SqliteClicks)

/** Thrown inside a settle transaction when one of its fetches was settled already: the pass stores nothing. */
class SettledElsewhere extends Error {}

function increment(map: Map<number, number>, id: number): void {
  map.set(id, (map.get(id) ?? 0) + 1)
}
