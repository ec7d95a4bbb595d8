import { applyLatestReports } from '../../delivery-reports.js'
import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type {
  AnsweredMessage,
  DeliveryReport,
  DeliveryReportResult,
  DeliveryStatus,
  NewWebhookEvent,
  OptOutChange,
  OptOutOutcome,
  OptOutPage,
  OptOutSource,
  OptOutStore,
  OptOutWrite,
  ResubscribeWrite,
  UnsubscribeTarget,
} from '../store.js'
import { UNSUBSCRIBE_COLUMNS } from '../rows.js'

/**
 * Whether the tenant has opt-outs kept under a suppression key (an erased recipient's).
 * Those keys sort between 'erased:' and 'erased;': an index range, not a scan.
 */
export const ERASED_OPTOUT =
  "SELECT 1 FROM optouts WHERE tenant_id = ? AND recipient_id >= 'erased:' AND recipient_id < 'erased;' LIMIT 1"

function prepare(db: SqliteDatabase) {
  return {
    unsubscribeCodeExists: db.prepare('SELECT 1 FROM messages WHERE domain_id = ? AND unsubscribe_code = ?'),
    findUnsubscribeTarget: db.prepare(
      `SELECT m.id AS messageId, m.public_id AS messagePublicId, m.tenant_id AS tenantId, t.name AS tenantName,
         m.recipient_count AS recipientCount, m.language AS messageLanguage, t.language AS tenantLanguage
       FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE m.domain_id = ? AND m.unsubscribe_code = ?`,
    ),
    bumpUnsubscribeVisits: db.prepare(
      'UPDATE message_counters SET unsubscribe_visits = unsubscribe_visits + ? WHERE message_id = ?',
    ),
    markUnsubscribed: db.prepare(
      'UPDATE recipients SET unsubscribed_at = ? WHERE message_id = ? AND idx = ? AND unsubscribed_at IS NULL',
    ),
    bumpUnsubscribes: Object.fromEntries(
      Object.entries(UNSUBSCRIBE_COLUMNS).map(([source, column]) => [
        source,
        db.prepare(`UPDATE message_counters SET ${column} = ${column} + 1 WHERE message_id = ?`),
      ]),
    ) as Record<OptOutSource, ReturnType<SqliteDatabase['prepare']>>,
    insertOptOut: db.prepare(
      `INSERT INTO optouts (tenant_id, recipient_id, source, message_id, at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    deleteOptOut: db.prepare('DELETE FROM optouts WHERE tenant_id = ? AND recipient_id = ?'),
    insertChange: db.prepare(
      'INSERT INTO optout_changes (tenant_id, recipient_id, change, source, message_id, at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    isOptedOut: db.prepare('SELECT 1 FROM optouts WHERE tenant_id = ? AND recipient_id = ?').pluck(),
    hasOptOuts: db.prepare('SELECT 1 FROM optouts WHERE tenant_id = ? LIMIT 1').pluck(),
    hasErasedOptOuts: db.prepare(ERASED_OPTOUT).pluck(),
    latestMessageTo: db.prepare(
      `SELECT m.id AS messageId, m.public_id AS publicId, r.idx AS recipientIdx
       FROM recipients r JOIN messages m ON m.id = r.message_id
       WHERE r.external_id = ? AND m.tenant_id = ? AND m.created_at <= ?
       ORDER BY m.created_at DESC, m.id DESC LIMIT 1`,
    ),
    listOptOuts: db.prepare(
      `SELECT o.id, o.recipient_id AS recipientId, o.change, o.source, m.public_id AS messagePublicId, o.at
       FROM optout_changes o LEFT JOIN messages m ON m.id = o.message_id
       WHERE o.tenant_id = ? AND o.id > ? ORDER BY o.id LIMIT ?`,
    ),
    recipientDelivery: db.prepare(
      'SELECT idx, delivery_status AS status, delivery_at AS at FROM recipients WHERE message_id = ? AND external_id = ?',
    ),
    setRecipientDelivery: db.prepare(
      'UPDATE recipients SET delivery_status = ?, delivery_at = ?, delivery_at_arrival = ? WHERE message_id = ? AND idx = ?',
    ),
    bumpDeliveries: db.prepare(
      'UPDATE message_counters SET delivered = delivered + ?, failed = failed + ? WHERE message_id = ?',
    ),
    bumpLastDelivery: db.prepare(
      'UPDATE message_counters SET last_delivery_at = max(coalesce(last_delivery_at, ?), ?) WHERE message_id = ?',
    ),
    insertWebhookEvent: db.prepare(
      `INSERT INTO webhook_events (public_id, webhook_id, type, body, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
  }
}

/** Unsubscribe pages and their visits, opt-outs, and delivery reports. */
export class SqliteOptOuts implements OptOutStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
    this.write = connection.write
  }

  async unsubscribeCodeExists(domainId: number, code: string): Promise<boolean> {
    return this.sql.unsubscribeCodeExists.get(domainId, code) !== undefined
  }

  async findUnsubscribeTarget(domainId: number, code: string): Promise<UnsubscribeTarget | null> {
    return (this.sql.findUnsubscribeTarget.get(domainId, code) as UnsubscribeTarget | undefined) ?? null
  }

  async addUnsubscribeVisits(visits: Map<number, number>): Promise<void> {
    this.write(() => {
      for (const [messageId, n] of visits) this.sql.bumpUnsubscribeVisits.run(n, messageId)
    })
  }

  async recordOptOuts(writes: OptOutWrite[]): Promise<OptOutOutcome[]> {
    return this.write(() =>
      writes.map((write): OptOutOutcome => {
        const { tenantId, recipientId, source, at, message } = write
        const listed =
          this.sql.insertOptOut.run(tenantId, recipientId, source, message?.messageId ?? null, at).changes === 1
        if (listed) {
          this.sql.insertChange.run(tenantId, recipientId, 'optout', source, message?.messageId ?? null, at)
        }
        const counted =
          message !== null && this.sql.markUnsubscribed.run(at, message.messageId, message.recipientIdx).changes === 1
        if (counted) this.sql.bumpUnsubscribes[source].run(message.messageId)
        if (listed || counted) this.insertEvents(write.events)
        return { listed, counted }
      }),
    )
  }

  async resubscribe(write: ResubscribeWrite): Promise<boolean> {
    return this.write(() => {
      if (this.sql.deleteOptOut.run(write.tenantId, write.recipientId).changes === 0) return false
      this.sql.insertChange.run(write.tenantId, write.recipientId, 'resubscribe', null, null, write.at)
      this.insertEvents(write.events)
      return true
    })
  }

  private insertEvents(events: NewWebhookEvent[]): void {
    for (const event of events) {
      this.sql.insertWebhookEvent.run(event.publicId, event.webhookId, event.type, event.body, event.at, event.at)
    }
  }

  async latestMessagesTo(
    tenantId: number,
    lookups: Array<{ recipientId: string; before: number }>,
  ): Promise<Array<AnsweredMessage | null>> {
    return lookups.map(
      ({ recipientId, before }) =>
        (this.sql.latestMessageTo.get(recipientId, tenantId, before) as AnsweredMessage | undefined) ?? null,
    )
  }

  async optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>> {
    const out = new Set<string>()
    // Most tenants have nobody opted out yet: one probe instead of one per recipient.
    if (recipientIds.length === 0 || this.sql.hasOptOuts.get(tenantId) === undefined) return out
    for (const id of recipientIds) if (this.sql.isOptedOut.get(tenantId, id) !== undefined) out.add(id)
    return out
  }

  async optOutsAmong(tenantId: number, recipientIds: string[]): Promise<{ optedOut: Set<string>; erased: boolean }> {
    return {
      optedOut: await this.optedOutRecipients(tenantId, recipientIds),
      erased: this.sql.hasErasedOptOuts.get(tenantId) !== undefined,
    }
  }

  async listOptOuts(tenantId: number, after: number, limit: number): Promise<OptOutPage> {
    const rows = this.sql.listOptOuts.all(tenantId, after, limit + 1) as Array<OptOutChange & { id: number }>
    const page = rows.slice(0, limit)
    return {
      optOuts: page.map(({ id: _id, ...change }) => change),
      last: page.length > 0 ? page[page.length - 1]!.id : after,
      hasMore: rows.length > limit,
    }
  }

  async applyDeliveryReports(messageId: number, reports: DeliveryReport[]): Promise<DeliveryReportResult> {
    return this.write((): DeliveryReportResult => {
      type Row = { idx: number; status: DeliveryStatus | null; at: number | null }
      const { result, delivered, failed, latest } = applyLatestReports(
        reports,
        (recipientId) => this.sql.recipientDelivery.get(messageId, recipientId) as Row | undefined,
        (row, report) =>
          this.sql.setRecipientDelivery.run(report.status, report.at, report.arrival ? 1 : 0, messageId, row.idx),
      )
      if (delivered !== 0 || failed !== 0) this.sql.bumpDeliveries.run(delivered, failed, messageId)
      if (latest !== null) this.sql.bumpLastDelivery.run(latest, latest, messageId)
      return result
    })
  }
}

retryingWhileBusy(SqliteOptOuts)
