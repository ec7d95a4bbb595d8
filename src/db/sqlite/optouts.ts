import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import { newWebhookEventId, webhookEventBody } from '../../webhook-event.js'
import type {
  DeliveryReport,
  DeliveryReportResult,
  DeliveryStatus,
  OptOutPage,
  OptOutResult,
  OptOutStore,
  UnsubscribeTarget,
} from '../store.js'
import type { WebhookSubscribers } from './webhooks.js'

function prepare(db: SqliteDatabase) {
  return {
    unsubscribeCodeExists: db.prepare('SELECT 1 FROM messages WHERE domain_id = ? AND unsubscribe_code = ?'),
    findUnsubscribeTarget: db.prepare(
      `SELECT m.id AS messageId, m.tenant_id AS tenantId, t.name AS tenantName, m.recipient_count AS recipientCount
       FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE m.domain_id = ? AND m.unsubscribe_code = ?`,
    ),
    bumpUnsubscribeVisits: db.prepare(
      'UPDATE message_counters SET unsubscribe_visits = unsubscribe_visits + ? WHERE message_id = ?',
    ),
    messageTenant: db.prepare('SELECT tenant_id AS tenantId, public_id AS publicId FROM messages WHERE id = ?'),
    recipientExternalId: db.prepare('SELECT external_id FROM recipients WHERE message_id = ? AND idx = ?').pluck(),
    markUnsubscribed: db.prepare(
      'UPDATE recipients SET unsubscribed_at = ? WHERE message_id = ? AND idx = ? AND unsubscribed_at IS NULL',
    ),
    bumpUnsubscribes: db.prepare('UPDATE message_counters SET unsubscribes = unsubscribes + 1 WHERE message_id = ?'),
    insertOptOut: db.prepare(
      'INSERT INTO optouts (tenant_id, recipient_id, message_id, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    isOptedOut: db.prepare('SELECT 1 FROM optouts WHERE tenant_id = ? AND recipient_id = ?').pluck(),
    hasOptOuts: db.prepare('SELECT 1 FROM optouts WHERE tenant_id = ? LIMIT 1').pluck(),
    listOptOuts: db.prepare(
      `SELECT o.id, o.recipient_id AS recipientId, m.public_id AS messagePublicId, o.at
       FROM optouts o JOIN messages m ON m.id = o.message_id
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

  constructor(
    connection: SqliteConnection,
    private readonly subscribers: WebhookSubscribers,
  ) {
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

  async optOut(messageId: number, recipientIdx: number, at: number): Promise<OptOutResult | null> {
    return this.write((): OptOutResult | null => {
      const recipientId = this.sql.recipientExternalId.get(messageId, recipientIdx) as string | undefined
      if (recipientId === undefined) return null
      const confirmedNow = this.sql.markUnsubscribed.run(at, messageId, recipientIdx).changes === 1
      if (!confirmedNow) return { recipientId, confirmedNow }
      this.sql.bumpUnsubscribes.run(messageId)
      const message = this.sql.messageTenant.get(messageId) as { tenantId: number; publicId: string }
      this.sql.insertOptOut.run(message.tenantId, recipientId, messageId, at)
      for (const webhookId of this.subscribers.unsubscribe.get(message.tenantId) ?? []) {
        const id = newWebhookEventId()
        const body = webhookEventBody({
          id,
          type: 'unsubscribe',
          at,
          messagePublicId: message.publicId,
          recipientId,
          link: null,
          click: null,
        })
        this.sql.insertWebhookEvent.run(id, webhookId, 'unsubscribe', body, at, at)
      }
      return { recipientId, confirmedNow }
    })
  }

  async optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>> {
    const out = new Set<string>()
    // Most tenants have nobody opted out yet: one probe instead of one per recipient.
    if (recipientIds.length === 0 || this.sql.hasOptOuts.get(tenantId) === undefined) return out
    for (const id of recipientIds) if (this.sql.isOptedOut.get(tenantId, id) !== undefined) out.add(id)
    return out
  }

  async listOptOuts(tenantId: number, after: number, limit: number): Promise<OptOutPage> {
    const rows = this.sql.listOptOuts.all(tenantId, after, limit + 1) as Array<{
      id: number
      recipientId: string
      messagePublicId: string
      at: number
    }>
    const page = rows.slice(0, limit)
    return {
      optOuts: page.map(({ recipientId, messagePublicId, at }) => ({ recipientId, messagePublicId, at })),
      last: page.length > 0 ? page[page.length - 1]!.id : after,
      hasMore: rows.length > limit,
    }
  }

  async applyDeliveryReports(messageId: number, reports: DeliveryReport[]): Promise<DeliveryReportResult> {
    return this.write((): DeliveryReportResult => {
      const result: DeliveryReportResult = { applied: 0, outdated: 0, unknownRecipients: [] }
      let delivered = 0
      let failed = 0
      let latest: number | null = null
      const move = (status: DeliveryStatus | null, by: number) => {
        if (status === 'delivered') delivered += by
        else if (status === 'failed') failed += by
      }
      for (const report of reports) {
        const current = this.sql.recipientDelivery.get(messageId, report.recipientId) as
          { idx: number; status: DeliveryStatus | null; at: number | null } | undefined
        if (current === undefined) {
          result.unknownRecipients.push(report.recipientId)
          continue
        }
        // The latest report wins, whatever order the gateway sends them in.
        if (current.at !== null && report.at < current.at) {
          result.outdated++
          continue
        }
        this.sql.setRecipientDelivery.run(report.status, report.at, report.arrival ? 1 : 0, messageId, current.idx)
        latest = Math.max(latest ?? report.at, report.at)
        move(current.status, -1)
        move(report.status, +1)
        result.applied++
      }
      if (delivered !== 0 || failed !== 0) this.sql.bumpDeliveries.run(delivered, failed, messageId)
      if (latest !== null) this.sql.bumpLastDelivery.run(latest, latest, messageId)
      return result
    })
  }
}

retryingWhileBusy(SqliteOptOuts)
