import { applyLatestReports } from '../../delivery-reports.js'
import type pg from 'pg'
import type {
  AnsweredMessage,
  DeliveryReport,
  DeliveryReportResult,
  DeliveryStatus,
  OptOutChange,
  OptOutOutcome,
  OptOutPage,
  OptOutWrite,
  ResubscribeWrite,
} from '../store.js'
import { transaction } from './pool.js'
import { insertWebhookEvents } from './webhooks.js'

/** A suppression key (an erased recipient's opt-out): they sort between 'erased:' and 'erased;' (byte order, the column's collation). */
const ERASED = "recipient_id >= 'erased:' AND recipient_id < 'erased;'"

/** First key of the advisory lock that orders a tenant's opt-out list changes (the second is the tenant id). */
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

  async recordOptOuts(writes: OptOutWrite[]): Promise<OptOutOutcome[]> {
    if (writes.length === 0) return []
    return transaction(this.pool, async (client) => {
      // Ids come from a sequence, which hands them out in call order, not commit order.
      // Held until commit, this lock makes a tenant's changes commit in id order, so the
      // feed read by id never passes over a row that commits later (ADR 0073). Taken in
      // tenant order, so two transactions never wait on each other's.
      for (const tenantId of [...new Set(writes.map((write) => write.tenantId))].sort((a, b) => a - b)) {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [OPTOUT_LOCK, tenantId])
      }
      // One statement for the whole batch, as if its opt-outs came one after another: of
      // those naming the same recipient (or the same message's recipient) only the first
      // can list (or count) it, and the feed's ids follow the order given.
      const { rows } = await client.query<OptOutOutcome & { n: number }>(
        `WITH v AS (
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[])
             WITH ORDINALITY AS v(tenant_id, recipient_id, source, message_id, at, idx, n)),
         first_listed AS (
           SELECT DISTINCT ON (tenant_id, recipient_id) * FROM v ORDER BY tenant_id, recipient_id, n),
         o AS (
           INSERT INTO optouts (tenant_id, recipient_id, source, message_id, at)
           SELECT tenant_id, recipient_id, source, message_id, at FROM first_listed ORDER BY n
           ON CONFLICT DO NOTHING RETURNING tenant_id, recipient_id),
         listed AS (
           SELECT f.n, f.tenant_id, f.recipient_id, f.source, f.message_id, f.at
           FROM first_listed f JOIN o USING (tenant_id, recipient_id)),
         c AS (
           INSERT INTO optout_changes (tenant_id, recipient_id, change, source, message_id, at)
           SELECT tenant_id, recipient_id, 'optout', source, message_id, at FROM listed ORDER BY n),
         first_marked AS (
           SELECT DISTINCT ON (message_id, idx) * FROM v WHERE message_id IS NOT NULL ORDER BY message_id, idx, n),
         r AS (
           UPDATE recipients SET unsubscribed_at = f.at FROM first_marked f
           WHERE recipients.message_id = f.message_id AND recipients.idx = f.idx AND recipients.unsubscribed_at IS NULL
           RETURNING f.n, f.message_id, f.source),
         m AS (
           UPDATE message_counters SET
             unsubscribes = unsubscribes + x.link, unsubscribes_reply = unsubscribes_reply + x.reply,
             unsubscribes_import = unsubscribes_import + x.import, unsubscribes_support = unsubscribes_support + x.support
           FROM (SELECT message_id, count(*) FILTER (WHERE source = 'link') AS link,
                   count(*) FILTER (WHERE source = 'reply') AS reply, count(*) FILTER (WHERE source = 'import') AS import,
                   count(*) FILTER (WHERE source = 'support') AS support
                 FROM r GROUP BY message_id) x
           WHERE message_counters.message_id = x.message_id)
         SELECT v.n, EXISTS (SELECT 1 FROM listed WHERE listed.n = v.n) AS listed,
           EXISTS (SELECT 1 FROM r WHERE r.n = v.n) AS counted
         FROM v ORDER BY v.n`,
        [
          writes.map((write) => write.tenantId),
          writes.map((write) => write.recipientId),
          writes.map((write) => write.source),
          writes.map((write) => write.message?.messageId ?? null),
          writes.map((write) => write.at),
          writes.map((write) => write.message?.recipientIdx ?? null),
        ],
      )
      const outcomes = rows.map(({ listed, counted }) => ({ listed, counted }))
      await insertWebhookEvents(
        client,
        writes.flatMap((write, i) => (outcomes[i]!.listed || outcomes[i]!.counted ? write.events : [])),
      )
      return outcomes
    })
  }

  async resubscribe(write: ResubscribeWrite): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [OPTOUT_LOCK, write.tenantId])
      const removed = await client.query(
        `WITH o AS (DELETE FROM optouts WHERE tenant_id = $1 AND recipient_id = $2 RETURNING 1)
         INSERT INTO optout_changes (tenant_id, recipient_id, change, source, message_id, at)
         SELECT $1, $2, 'resubscribe', NULL, NULL, $3 FROM o`,
        [write.tenantId, write.recipientId, write.at],
      )
      if (removed.rowCount !== 1) return false
      await insertWebhookEvents(client, write.events)
      return true
    })
  }

  async latestMessagesTo(
    tenantId: number,
    lookups: Array<{ recipientId: string; before: number }>,
  ): Promise<Array<AnsweredMessage | null>> {
    if (lookups.length === 0) return []
    const { rows } = await this.pool.query<AnsweredMessage & { n: number }>(
      `SELECT l.n, x."messageId", x."publicId", x."recipientIdx"
       FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS l(recipient_id, before, n)
       CROSS JOIN LATERAL (
         SELECT m.id AS "messageId", m.public_id AS "publicId", r.idx AS "recipientIdx"
         FROM recipients r JOIN messages m ON m.id = r.message_id
         WHERE r.external_id = l.recipient_id AND m.tenant_id = $1 AND m.created_at <= l.before
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1) x`,
      [tenantId, lookups.map((lookup) => lookup.recipientId), lookups.map((lookup) => lookup.before)],
    )
    const found: Array<AnsweredMessage | null> = lookups.map(() => null)
    for (const { n, ...message } of rows) found[Number(n) - 1] = message
    return found
  }

  async optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>> {
    if (recipientIds.length === 0) return new Set()
    const { rows } = await this.pool.query<{ recipient_id: string }>({
      name: 'smslinks-opted-out-recipients',
      text: 'SELECT recipient_id FROM optouts WHERE tenant_id = $1 AND recipient_id = ANY($2::text[])',
      values: [tenantId, recipientIds],
    })
    return new Set(rows.map((row) => row.recipient_id))
  }

  async optOutsAmong(tenantId: number, recipientIds: string[]): Promise<{ optedOut: Set<string>; erased: boolean }> {
    // The ids on the list, then a null row if the tenant has any suppression key.
    const { rows } = await this.pool.query<{ recipient_id: string | null }>({
      name: 'smslinks-optouts-among',
      text: `SELECT recipient_id FROM optouts WHERE tenant_id = $1 AND recipient_id = ANY($2::text[])
       UNION ALL
       (SELECT NULL FROM optouts WHERE tenant_id = $1 AND ${ERASED} LIMIT 1)`,
      values: [tenantId, recipientIds],
    })
    const optedOut = new Set<string>()
    let erased = false
    for (const row of rows) {
      if (row.recipient_id === null) erased = true
      else optedOut.add(row.recipient_id)
    }
    return { optedOut, erased }
  }

  async listOptOuts(tenantId: number, after: number, limit: number): Promise<OptOutPage> {
    const { rows } = await this.pool.query<OptOutChange & { id: number }>(
      `SELECT o.id, o.recipient_id AS "recipientId", o.change, o.source, m.public_id AS "messagePublicId", o.at
       FROM optout_changes o LEFT JOIN messages m ON m.id = o.message_id
       WHERE o.tenant_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3`,
      [tenantId, after, limit + 1],
    )
    const page = rows.slice(0, limit)
    return {
      optOuts: page.map(({ id: _id, ...change }) => change),
      last: page.length > 0 ? page[page.length - 1]!.id : after,
      hasMore: rows.length > limit,
    }
  }

  async hasErasedOptOuts(tenantId: number): Promise<boolean> {
    const { rowCount } = await this.pool.query({
      name: 'smslinks-has-erased-optouts',
      text: `SELECT 1 FROM optouts WHERE tenant_id = $1 AND ${ERASED} LIMIT 1`,
      values: [tenantId],
    })
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
      const { result, delivered, failed, latest } = applyLatestReports(
        reports,
        (recipientId) => current.get(recipientId),
        (recipient, report) => {
          recipient.status = report.status
          recipient.at = report.at
          recipient.arrival = report.arrival ?? false
        },
      )
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
