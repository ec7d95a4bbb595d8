import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type { MessageKind, MessageTotals, RollupStore } from '../store.js'
import { totalsFromRow, UNSUBSCRIBE_SUMS, type TotalsRow } from '../rows.js'

/**
 * Counters summed over a set of messages: the select list and FROM of the roll-up
 * statements, which add their own WHERE. A message "reported" once any delivery
 * report came; its CTR denominator (reach) is then delivered, else recipients.
 */
const TOTALS = `count(*) AS messages, CASE WHEN count(DISTINCT m.kind) = 1 THEN min(m.kind) END AS kind,
  coalesce(sum(m.recipient_count), 0) AS recipients,
  coalesce(sum(c.delivered), 0) AS delivered,
  coalesce(sum(c.delivered + c.failed > 0), 0) AS reportedMessages,
  coalesce(sum(CASE WHEN c.delivered + c.failed > 0 THEN c.delivered ELSE m.recipient_count END), 0) AS reach,
  coalesce(sum(c.clicks_unique), 0) AS uniqueClickers,
  ${UNSUBSCRIBE_SUMS}
  FROM messages m JOIN message_counters c ON c.message_id = m.id`

function prepare(db: SqliteDatabase) {
  return {
    campaignTotals: db.prepare(`SELECT ${TOTALS} WHERE m.tenant_id = ? AND m.campaign = ?`),
    variantTotals: db.prepare(
      `SELECT m.variant, ${TOTALS} WHERE m.tenant_id = ? AND m.campaign = ? AND m.variant IS NOT NULL
       GROUP BY m.variant ORDER BY m.variant`,
    ),
    kindTotals: db.prepare(
      `SELECT ${TOTALS} WHERE m.tenant_id = ? AND m.kind = ? AND m.created_at >= ? AND m.created_at < ?`,
    ),
    engagedRecipients: db
      .prepare(
        `SELECT DISTINCT r.external_id FROM messages m
       JOIN message_uniques u ON u.message_id = m.id
       JOIN recipients r ON r.message_id = u.message_id AND r.idx = u.recipient_idx
       WHERE m.tenant_id = ? AND coalesce(u.last_at, u.first_at) >= ? AND r.external_id > ?
       ORDER BY r.external_id LIMIT ?`,
      )
      .pluck(),
  }
}

/** Counters summed over many messages: campaigns, variants, kinds; engaged recipients. */
export class SqliteRollups implements RollupStore {
  private readonly sql: ReturnType<typeof prepare>

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
  }

  async campaignTotals(tenantId: number, campaign: string): Promise<MessageTotals> {
    return totalsFromRow(this.sql.campaignTotals.get(tenantId, campaign) as TotalsRow)
  }

  async variantTotals(tenantId: number, campaign: string): Promise<Array<MessageTotals & { variant: string }>> {
    return (this.sql.variantTotals.all(tenantId, campaign) as Array<TotalsRow & { variant: string }>).map(totalsFromRow)
  }

  async kindTotals(tenantId: number, kind: MessageKind, from: number, to: number): Promise<MessageTotals> {
    return totalsFromRow(this.sql.kindTotals.get(tenantId, kind, from, to) as TotalsRow)
  }

  async engagedRecipients(tenantId: number, since: number, after: string, limit: number): Promise<string[]> {
    return this.sql.engagedRecipients.all(tenantId, since, after, limit) as string[]
  }
}

retryingWhileBusy(SqliteRollups)
