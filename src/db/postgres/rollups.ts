import type pg from 'pg'
import type { MessageKind, MessageTotals } from '../store.js'
import { totalsFromRow, UNSUBSCRIBE_SUMS, type TotalsRow } from '../rows.js'

/**
 * Counters summed over a set of messages: the select list and FROM of the roll-up
 * statements, which add their own WHERE. A message "reported" once any delivery
 * report came; its CTR denominator (reach) is then delivered, else recipients.
 */
const TOTALS = `count(*) AS messages, CASE WHEN count(DISTINCT m.kind) = 1 THEN min(m.kind) END AS kind,
  coalesce(sum(m.recipient_count), 0) AS recipients,
  coalesce(sum(c.delivered), 0) AS delivered,
  count(*) FILTER (WHERE c.delivered + c.failed > 0) AS "reportedMessages",
  coalesce(sum(CASE WHEN c.delivered + c.failed > 0 THEN c.delivered ELSE m.recipient_count END), 0) AS reach,
  coalesce(sum(c.clicks_unique), 0) AS "uniqueClickers",
  ${UNSUBSCRIBE_SUMS}
  FROM messages m JOIN message_counters c ON c.message_id = m.id`

/** Sums of message counters by campaign, variant and kind. */
export class PostgresRollups {
  constructor(private readonly pool: pg.Pool) {}

  async campaignTotals(tenantId: number, campaign: string): Promise<MessageTotals> {
    const { rows } = await this.pool.query<TotalsRow>(`SELECT ${TOTALS} WHERE m.tenant_id = $1 AND m.campaign = $2`, [
      tenantId,
      campaign,
    ])
    return totalsFromRow(rows[0]!)
  }

  async variantTotals(tenantId: number, campaign: string): Promise<Array<MessageTotals & { variant: string }>> {
    const { rows } = await this.pool.query<TotalsRow & { variant: string }>(
      `SELECT m.variant, ${TOTALS} WHERE m.tenant_id = $1 AND m.campaign = $2 AND m.variant IS NOT NULL
       GROUP BY m.variant ORDER BY m.variant COLLATE "C"`,
      [tenantId, campaign],
    )
    return rows.map(totalsFromRow)
  }

  async kindTotals(tenantId: number, kind: MessageKind, from: number, to: number): Promise<MessageTotals> {
    const { rows } = await this.pool.query<TotalsRow>(
      `SELECT ${TOTALS} WHERE m.tenant_id = $1 AND m.kind = $2 AND m.created_at >= $3 AND m.created_at < $4`,
      [tenantId, kind, from, to],
    )
    return totalsFromRow(rows[0]!)
  }
}
