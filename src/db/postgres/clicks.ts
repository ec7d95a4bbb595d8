import type pg from 'pg'
import type { ClickPosition, ClickRow, ExportedClick } from '../../click.js'
import type {
  BreakdownCount,
  ClickMessageFacts,
  DeliveryTime,
  DueFetch,
  MessageCounters,
  SweepWindow,
} from '../store.js'
import { counters, unsubscribeCounts, type CounterRow, type MessageCounterRow } from '../rows.js'
import { COMMIT_HORIZON } from './commit-horizon.js'

/** The click reads: counters, a click by its id, the export, uniques. The write is click-write.ts. */
export class PostgresClicks {
  constructor(private readonly pool: pg.Pool) {}

  async messageCounters(messageId: number): Promise<MessageCounters> {
    const [message, links, reasons, breakdowns, revenue] = await Promise.all([
      this.pool.query<MessageCounterRow>('SELECT * FROM message_counters WHERE message_id = $1', [messageId]),
      this.pool.query<CounterRow & { link_id: number }>(
        `SELECT l.id AS link_id, c.clicks_total, c.clicks_unique, c.clicks_bots, c.clicks_previews
         FROM links l LEFT JOIN link_counters c ON c.link_id = l.id WHERE l.message_id = $1 ORDER BY l.position`,
        [messageId],
      ),
      this.pool.query<{ reason: string; clicks: number }>(
        'SELECT reason, clicks FROM message_reason_counters WHERE message_id = $1',
        [messageId],
      ),
      this.pool.query<BreakdownCount>('SELECT dimension, value, clicks FROM message_breakdowns WHERE message_id = $1', [
        messageId,
      ]),
      this.pool.query<{ currency: string; amount: number }>(
        'SELECT currency, amount FROM message_revenue WHERE message_id = $1 ORDER BY currency COLLATE "C"',
        [messageId],
      ),
    ])
    const row = message.rows[0]
    return {
      clicks: counters(row),
      pendingClicks: row?.clicks_pending ?? 0,
      byReason: Object.fromEntries(reasons.rows.map((r) => [r.reason, r.clicks])),
      breakdowns: breakdowns.rows,
      conversions: row?.conversions ?? 0,
      revenue: Object.fromEntries(revenue.rows.map((r) => [r.currency, r.amount])),
      links: links.rows.map((link) => ({ linkId: link.link_id, clicks: counters(link) })),
      deliveries: { delivered: row?.delivered ?? 0, failed: row?.failed ?? 0 },
      unsubscribes: { linkVisits: row?.unsubscribe_visits ?? 0, bySource: unsubscribeCounts(row) },
    }
  }

  async findClick(
    clickId: string,
  ): Promise<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'> | null> {
    const { rows } = await this.pool.query<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'>>(
      `SELECT click_id AS "clickId", at, message_id AS "messageId", link_id AS "linkId",
         recipient_idx AS "recipientIdx", class
       FROM clicks WHERE click_id = $1 ORDER BY id LIMIT 1`,
      [clickId],
    )
    return rows[0] ?? null
  }

  /**
   * Pages by (xid, id), below the horizon: a transaction still running may yet commit
   * clicks, and they must not land behind a cursor already handed out (docs/adr/0073).
   */
  async listClicks(messageId: number, after: ClickPosition, limit: number): Promise<ExportedClick[]> {
    const { rows } = await this.pool.query<ExportedClick>(
      `WITH ${COMMIT_HORIZON}
       SELECT c.xid::text::bigint AS xid, c.id, c.at, l.public_id AS "linkPublicId", r.external_id AS "recipientId",
         c.class, c.reason, u.ua AS "userAgent"
       FROM clicks c JOIN links l ON l.id = c.link_id
       LEFT JOIN recipients r ON r.message_id = c.message_id AND r.idx = c.recipient_idx
       LEFT JOIN user_agents u ON u.id = c.user_agent_id
       WHERE c.message_id = $1 AND (c.xid, c.id) > ($2::text::xid8, $3) AND c.xid < (SELECT xid FROM horizon)
       ORDER BY c.xid, c.id LIMIT $4`,
      [messageId, String(after.xid), after.id, limit],
    )
    return rows
  }

  async clickMessageFacts(messageIds: number[]): Promise<Map<number, ClickMessageFacts>> {
    const { rows } = await this.pool.query<ClickMessageFacts & { id: number }>(
      `SELECT m.id, m.tenant_id AS "tenantId", m.public_id AS "publicId", m.recipient_count AS recipients,
         m.created_at AS "createdAt", c.last_delivery_at AS "lastDeliveryAt",
         (SELECT count(*) FROM links WHERE message_id = m.id) AS links
       FROM messages m LEFT JOIN message_counters c ON c.message_id = m.id WHERE m.id = ANY($1::bigint[])`,
      [messageIds],
    )
    return new Map(rows.map(({ id, ...facts }) => [id, facts]))
  }

  async recipientsDeliveredAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, DeliveryTime>> {
    const { rows } = await this.pool.query<{ idx: number; at: number; arrival: boolean }>(
      `SELECT idx, delivery_at AS at, delivery_at_arrival AS arrival FROM recipients
       WHERE message_id = $1 AND idx = ANY($2::int[]) AND delivery_at IS NOT NULL`,
      [messageId, recipientIdxs],
    )
    return new Map(rows.map((row) => [row.idx, { at: row.at, arrival: row.arrival }]))
  }

  async dueSweepFetches(before: number, limit: number): Promise<DueFetch[]> {
    const { rows } = await this.pool.query<DueFetch>(
      `SELECT f.click_id AS id, f.at, f.message_id AS "messageId", f.link_id AS "linkId",
         f.recipient_idx AS "recipientIdx", f.identity, u.ua AS "userAgent", c.network, c.click_id AS "clickId"
       FROM sweep_fetches f LEFT JOIN clicks c ON c.id = f.click_id LEFT JOIN user_agents u ON u.id = c.user_agent_id
       WHERE NOT f.settled AND f.at < $1 ORDER BY f.at LIMIT $2`,
      [before, limit],
    )
    return rows
  }

  async sweepNeighbours(
    messageId: number,
    identities: string[],
    { first, last, spanMs, nearest }: SweepWindow,
  ): Promise<Array<{ identity: string; recipientIdx: number; at: number }>> {
    // One round trip for a whole settle pass, whatever the number of identities in it;
    // each part an ordered range of the (message_id, identity, at) index.
    const { rows } = await this.pool.query<{ identity: string; recipientIdx: number; at: number }>(
      `SELECT n.identity, n.recipient_idx AS "recipientIdx", n.at
       FROM unnest($2::text[]) AS i(identity)
       CROSS JOIN LATERAL (
         (SELECT identity, recipient_idx, at FROM sweep_fetches
          WHERE message_id = $1 AND identity = i.identity AND at BETWEEN $3 AND $4)
         UNION ALL
         (SELECT identity, recipient_idx, at FROM sweep_fetches
          WHERE message_id = $1 AND identity = i.identity AND at >= $3::bigint - $5 AND at < $3
          ORDER BY at DESC LIMIT $6)
         UNION ALL
         (SELECT identity, recipient_idx, at FROM sweep_fetches
          WHERE message_id = $1 AND identity = i.identity AND at > $4 AND at <= $4::bigint + $5
          ORDER BY at LIMIT $6)
       ) n`,
      [messageId, identities, first, last, spanMs, nearest],
    )
    return rows
  }

  async firstClickTimes(messageId: number, recipientIdxs: number[]): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ idx: number; at: number }>(
      `SELECT recipient_idx AS idx, first_at AS at FROM message_uniques
       WHERE message_id = $1 AND recipient_idx = ANY($2::int[])`,
      [messageId, recipientIdxs],
    )
    return new Map(rows.map((row) => [row.idx, row.at]))
  }

  async messageClickSeries(messageId: number): Promise<Array<{ bucket: number; clicks: number }>> {
    const { rows } = await this.pool.query<{ bucket: number; clicks: number }>(
      'SELECT bucket, clicks FROM message_click_series WHERE message_id = $1 AND clicks > 0 ORDER BY bucket',
      [messageId],
    )
    return rows
  }

  async lastHumanClick(messageId: number, recipientIdx: number): Promise<number | null> {
    const { rows } = await this.pool.query<{ at: number }>(
      'SELECT coalesce(last_at, first_at) AS at FROM message_uniques WHERE message_id = $1 AND recipient_idx = $2',
      [messageId, recipientIdx],
    )
    return rows[0]?.at ?? null
  }

  async engagedRecipients(tenantId: number, since: number, after: string, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ external_id: string }>(
      `SELECT DISTINCT r.external_id FROM messages m
       JOIN message_uniques u ON u.message_id = m.id
       JOIN recipients r ON r.message_id = u.message_id AND r.idx = u.recipient_idx
       WHERE m.tenant_id = $1 AND coalesce(u.last_at, u.first_at) >= $2 AND r.external_id > $3
       ORDER BY r.external_id LIMIT $4`,
      [tenantId, since, after, limit],
    )
    return rows.map((row) => row.external_id)
  }
}
