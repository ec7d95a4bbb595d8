import { cacheChangeRecorder, type RecordCacheChange } from './cache-changes.js'
import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type {
  DueWebhookEvent,
  NewWebhook,
  Webhook,
  WebhookAttempt,
  WebhookAttemptRecord,
  WebhookEventType,
  WebhookStore,
} from '../store.js'
import { webhookFromRow, type WebhookRow } from '../rows.js'

function prepare(db: SqliteDatabase) {
  return {
    insertWebhook: db.prepare(
      `INSERT INTO webhooks (public_id, tenant_id, url, events, secret, created_at)
       VALUES (@publicId, @tenantId, @url, @events, @secret, @createdAt)`,
    ),
    webhooksOfTenant: db.prepare('SELECT * FROM webhooks WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY id'),
    webhookOfTenant: db.prepare('SELECT * FROM webhooks WHERE tenant_id = ? AND public_id = ? AND deleted_at IS NULL'),
    deleteWebhook: db.prepare('UPDATE webhooks SET deleted_at = ? WHERE id = ?'),
    cancelWebhookEvents: db.prepare(
      "UPDATE webhook_events SET state = 'cancelled' WHERE webhook_id = ? AND state = 'pending'",
    ),
    dueWebhookEvents: db.prepare(
      `SELECT e.id, e.public_id AS publicId, e.webhook_id AS webhookId, w.tenant_id AS tenantId, w.url, w.secret,
              e.body, e.attempts, e.created_at AS createdAt
       FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
       WHERE e.state = 'pending' AND e.next_attempt_at <= ? AND w.deleted_at IS NULL
         AND w.tenant_id NOT IN (SELECT value FROM json_each(?))
       ORDER BY e.next_attempt_at, e.id LIMIT ?`,
    ),
    leaseWebhookEvent: db.prepare('UPDATE webhook_events SET next_attempt_at = ? WHERE id = ?'),
    releaseWebhookEvent: db.prepare(
      "UPDATE webhook_events SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ? AND state = 'pending'",
    ),
    updateWebhookEvent: db
      .prepare(
        // A webhook deleted while its post was in flight keeps its events cancelled.
        `UPDATE webhook_events SET attempts = attempts + 1,
         state = CASE state WHEN 'cancelled' THEN state ELSE ? END,
         next_attempt_at = coalesce(?, next_attempt_at)
       WHERE id = ? RETURNING attempts`,
      )
      .pluck(),
    insertWebhookAttempt: db.prepare(
      `INSERT INTO webhook_attempts (webhook_id, event_id, attempt, at, status_code, error, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    webhookAttempts: db.prepare(
      `SELECT e.public_id AS eventPublicId, e.type, a.attempt, a.at, a.status_code AS statusCode, a.error, a.outcome
       FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id
       WHERE a.webhook_id = ? ORDER BY a.id DESC LIMIT ?`,
    ),
    // Counted through the partial index webhook_events_due, which holds exactly the pending rows.
    pendingWebhookEvents: db.prepare("SELECT count(*) FROM webhook_events WHERE state = 'pending'").pluck(),
    deleteOldWebhookAttempts: db.prepare(
      'DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE at < ? ORDER BY at LIMIT ?)',
    ),
    deleteOldWebhookEvents: db.prepare(
      `DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
         WHERE state <> 'pending' AND created_at < ? ORDER BY created_at LIMIT ?)`,
    ),
  }
}

/**
 * Live webhooks per event type and tenant, held in memory so that a click flush or an
 * opt-out decides "does anyone want this event?" without a query. The webhooks part
 * reloads it on every change it makes; a second connection (the click writer thread)
 * calls refresh, which reloads when another connection has committed since.
 */
export class WebhookSubscribers {
  private readonly liveWebhooks
  private current: Record<WebhookEventType, Map<number, number[]>> = { click: new Map(), unsubscribe: new Map() }
  /** PRAGMA data_version when the subscribers were read: it moves when another connection commits. */
  private version = 0

  constructor(private readonly db: SqliteDatabase) {
    this.liveWebhooks = db.prepare('SELECT * FROM webhooks WHERE deleted_at IS NULL ORDER BY id')
    this.load()
  }

  /** Tenant → its live webhooks subscribed to click events. */
  get click(): Map<number, number[]> {
    return this.current.click
  }

  /** Tenant → its live webhooks subscribed to unsubscribe events. */
  get unsubscribe(): Map<number, number[]> {
    return this.current.unsubscribe
  }

  load(): void {
    const next: Record<WebhookEventType, Map<number, number[]>> = { click: new Map(), unsubscribe: new Map() }
    for (const row of this.liveWebhooks.all() as WebhookRow[]) {
      for (const event of row.events.split(',') as WebhookEventType[]) {
        const ids = next[event].get(row.tenant_id) ?? []
        ids.push(row.id)
        next[event].set(row.tenant_id, ids)
      }
    }
    this.current = next
  }

  refresh(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number
    if (version === this.version) return
    this.version = version
    this.load()
  }
}

/** Webhooks, their outbox of events, and delivery attempts. */
export class SqliteWebhooks implements WebhookStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']
  private readonly recordChange: RecordCacheChange

  constructor(
    connection: SqliteConnection,
    private readonly subscribers: WebhookSubscribers,
  ) {
    this.sql = prepare(connection.db)
    this.write = connection.write
    this.recordChange = cacheChangeRecorder(connection.db)
  }

  async subscribedWebhooks(type: WebhookEventType): Promise<Map<number, number[]>> {
    // Another connection (the service's, when this is the click writer thread's) may have changed them.
    this.subscribers.refresh()
    return this.subscribers[type]
  }

  async createWebhook(webhook: NewWebhook): Promise<Webhook> {
    const id = this.write(() => {
      const inserted = this.sql.insertWebhook.run({ ...webhook, events: webhook.events.join(',') })
      this.recordChange('webhooks', webhook.tenantId)
      return Number(inserted.lastInsertRowid)
    })
    this.subscribers.load()
    const { secret: _secret, ...rest } = webhook
    return { id, ...rest }
  }

  async listWebhooks(tenantId: number): Promise<Webhook[]> {
    return (this.sql.webhooksOfTenant.all(tenantId) as WebhookRow[]).map(webhookFromRow)
  }

  async getWebhook(tenantId: number, publicId: string): Promise<Webhook | null> {
    const row = this.sql.webhookOfTenant.get(tenantId, publicId) as WebhookRow | undefined
    return row ? webhookFromRow(row) : null
  }

  async deleteWebhook(tenantId: number, publicId: string, now: number): Promise<boolean> {
    const deleted = this.write(() => {
      const row = this.sql.webhookOfTenant.get(tenantId, publicId) as WebhookRow | undefined
      if (!row) return false
      this.sql.deleteWebhook.run(now, row.id)
      this.sql.cancelWebhookEvents.run(row.id)
      this.recordChange('webhooks', tenantId)
      return true
    })
    if (deleted) this.subscribers.load()
    return deleted
  }

  async dueWebhookEvents(now: number, limit: number, skipTenants: readonly number[] = []): Promise<DueWebhookEvent[]> {
    return this.sql.dueWebhookEvents.all(now, JSON.stringify(skipTenants), limit) as DueWebhookEvent[]
  }

  async claimWebhookEvents(
    now: number,
    leaseUntil: number,
    limit: number,
    skipTenants: readonly number[] = [],
  ): Promise<DueWebhookEvent[]> {
    return this.write(() => {
      const due = this.sql.dueWebhookEvents.all(now, JSON.stringify(skipTenants), limit) as DueWebhookEvent[]
      for (const event of due) this.sql.leaseWebhookEvent.run(leaseUntil, event.id)
      return due
    })
  }

  async releaseWebhookEvents(eventIds: readonly number[], leaseUntil: number, now: number): Promise<void> {
    this.write(() => {
      for (const id of eventIds) this.sql.releaseWebhookEvent.run(now, id, leaseUntil)
    })
  }

  async recordWebhookAttempt(attempt: WebhookAttempt): Promise<void> {
    this.write(() => {
      const state = attempt.outcome === 'retrying' ? 'pending' : attempt.outcome
      const number = this.sql.updateWebhookEvent.get(state, attempt.nextAttemptAt, attempt.eventId) as number
      this.sql.insertWebhookAttempt.run(
        attempt.webhookId,
        attempt.eventId,
        number,
        attempt.at,
        attempt.statusCode,
        attempt.error,
        attempt.outcome,
      )
    })
  }

  async webhookAttempts(webhookId: number, limit: number): Promise<WebhookAttemptRecord[]> {
    return this.sql.webhookAttempts.all(webhookId, limit) as WebhookAttemptRecord[]
  }

  async pendingWebhookEvents(): Promise<number> {
    return this.sql.pendingWebhookEvents.get() as number
  }

  async pruneWebhookOutbox(before: number, limit: number): Promise<number> {
    return this.write(
      () =>
        this.sql.deleteOldWebhookAttempts.run(before, limit).changes +
        this.sql.deleteOldWebhookEvents.run(before, limit).changes,
    )
  }
}

retryingWhileBusy(SqliteWebhooks)
