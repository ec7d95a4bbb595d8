import type pg from 'pg'
import { newWebhookEventId, webhookEventBody } from '../../webhook-event.js'
import type { DeliveryReport, DeliveryReportResult, DeliveryStatus, OptOutPage, OptOutResult } from '../store.js'
import { transaction } from './pool.js'
import { insertWebhookEvents, tenantSubscriptions } from './webhooks.js'

/** First key of the advisory lock that orders a tenant's opt-out inserts (the second is the tenant id). */
const OPTOUT_LOCK = 0x6f70_7400

/** Unsubscribe pages, opt-outs and delivery reports. */
export class PostgresOptOuts {
  constructor(private readonly pool: pg.Pool) {}

  async addUnsubscribeVisits(visits: Map<number, number>): Promise<void> {
    if (visits.size === 0) return
    await this.pool.query(
      `UPDATE message_counters c SET unsubscribe_visits = c.unsubscribe_visits + v.n
       FROM unnest($1::bigint[], $2::bigint[]) AS v(message_id, n) WHERE c.message_id = v.message_id`,
      [[...visits.keys()], [...visits.values()]],
    )
  }

  async optOut(messageId: number, recipientIdx: number, at: number): Promise<OptOutResult | null> {
    return transaction(this.pool, async (client): Promise<OptOutResult | null> => {
      // A second confirmation waits on the first one's row lock, then finds it set.
      const marked = await client.query<{ external_id: string }>(
        `UPDATE recipients SET unsubscribed_at = $3 WHERE message_id = $1 AND idx = $2 AND unsubscribed_at IS NULL
         RETURNING external_id`,
        [messageId, recipientIdx, at],
      )
      const row = marked.rows[0]
      if (row === undefined) {
        const known = await client.query<{ external_id: string }>(
          'SELECT external_id FROM recipients WHERE message_id = $1 AND idx = $2',
          [messageId, recipientIdx],
        )
        return known.rows[0] ? { recipientId: known.rows[0].external_id, confirmedNow: false } : null
      }
      const result = { recipientId: row.external_id, confirmedNow: true }
      const message = await client.query<{ tenant_id: number; public_id: string }>(
        `WITH c AS (UPDATE message_counters SET unsubscribes = unsubscribes + 1 WHERE message_id = $1)
         SELECT tenant_id, public_id FROM messages WHERE id = $1`,
        [messageId],
      )
      const { tenant_id: tenantId, public_id: messagePublicId } = message.rows[0]!
      // Ids come from a sequence, which hands them out in call order, not commit order.
      // Held until commit, this lock makes a tenant's opt-outs commit in id order, so
      // the feed read by id never passes over a row that commits later (ADR 0073).
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [OPTOUT_LOCK, tenantId])
      await client.query(
        'INSERT INTO optouts (tenant_id, recipient_id, message_id, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [tenantId, row.external_id, messageId, at],
      )
      const webhooks = await tenantSubscriptions(client, tenantId, 'unsubscribe')
      await insertWebhookEvents(
        client,
        webhooks.map((webhookId) => {
          const publicId = newWebhookEventId()
          const body = webhookEventBody({
            id: publicId,
            type: 'unsubscribe',
            at,
            messagePublicId,
            recipientId: row.external_id,
            link: null,
            click: null,
          })
          return { publicId, webhookId, type: 'unsubscribe', body, at }
        }),
      )
      return result
    })
  }

  async optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>> {
    if (recipientIds.length === 0) return new Set()
    const { rows } = await this.pool.query<{ recipient_id: string }>(
      'SELECT recipient_id FROM optouts WHERE tenant_id = $1 AND recipient_id = ANY($2::text[])',
      [tenantId, recipientIds],
    )
    return new Set(rows.map((row) => row.recipient_id))
  }

  async listOptOuts(tenantId: number, after: number, limit: number): Promise<OptOutPage> {
    const { rows } = await this.pool.query<{ id: number; recipientId: string; messagePublicId: string; at: number }>(
      `SELECT o.id, o.recipient_id AS "recipientId", m.public_id AS "messagePublicId", o.at
       FROM optouts o JOIN messages m ON m.id = o.message_id
       WHERE o.tenant_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3`,
      [tenantId, after, limit + 1],
    )
    const page = rows.slice(0, limit)
    return {
      optOuts: page.map(({ recipientId, messagePublicId, at }) => ({ recipientId, messagePublicId, at })),
      last: page.length > 0 ? page[page.length - 1]!.id : after,
      hasMore: rows.length > limit,
    }
  }

  async hasErasedOptOuts(tenantId: number): Promise<boolean> {
    // Suppression keys sort between 'erased:' and 'erased;' (byte order, the column's collation).
    const { rowCount } = await this.pool.query(
      "SELECT 1 FROM optouts WHERE tenant_id = $1 AND recipient_id >= 'erased:' AND recipient_id < 'erased;' LIMIT 1",
      [tenantId],
    )
    return rowCount !== null && rowCount > 0
  }

  async applyDeliveryReports(messageId: number, reports: DeliveryReport[]): Promise<DeliveryReportResult> {
    return transaction(this.pool, async (client) => {
      const { rows } = await client.query<{
        idx: number
        external_id: string
        status: DeliveryStatus | null
        at: number | null
        arrival: boolean
      }>(
        `SELECT idx, external_id, delivery_status AS status, delivery_at AS at, delivery_at_arrival AS arrival
         FROM recipients
         WHERE message_id = $1 AND external_id = ANY($2::text[]) ORDER BY idx FOR UPDATE`,
        [messageId, reports.map((report) => report.recipientId)],
      )
      const current = new Map(rows.map((row) => [row.external_id, row]))
      const result: DeliveryReportResult = { applied: 0, outdated: 0, unknownRecipients: [] }
      let delivered = 0
      let failed = 0
      let latest: number | null = null
      const move = (status: DeliveryStatus | null, by: number) => {
        if (status === 'delivered') delivered += by
        else if (status === 'failed') failed += by
      }
      // Reports apply in the order given, each against what the ones before it left.
      for (const report of reports) {
        const recipient = current.get(report.recipientId)
        if (recipient === undefined) {
          result.unknownRecipients.push(report.recipientId)
          continue
        }
        // The latest report wins, whatever order the gateway sends them in.
        if (recipient.at !== null && report.at < recipient.at) {
          result.outdated++
          continue
        }
        move(recipient.status, -1)
        move(report.status, +1)
        recipient.status = report.status
        recipient.at = report.at
        recipient.arrival = report.arrival ?? false
        latest = Math.max(latest ?? report.at, report.at)
        result.applied++
      }
      if (result.applied === 0) return result
      await client.query(
        `UPDATE recipients r SET delivery_status = v.status, delivery_at = v.at, delivery_at_arrival = v.arrival
         FROM unnest($2::int[], $3::text[], $4::bigint[], $5::boolean[]) AS v(idx, status, at, arrival)
         WHERE r.message_id = $1 AND r.idx = v.idx`,
        [
          messageId,
          rows.map((row) => row.idx),
          rows.map((row) => row.status),
          rows.map((row) => row.at),
          rows.map((row) => row.arrival),
        ],
      )
      await client.query(
        `UPDATE message_counters SET delivered = delivered + $1, failed = failed + $2,
           last_delivery_at = greatest(coalesce(last_delivery_at, $3), $3)
         WHERE message_id = $4`,
        [delivered, failed, latest, messageId],
      )
      return result
    })
  }
}
