import type pg from 'pg'
import type {
  DueWebhookEvent,
  NewWebhook,
  NewWebhookEvent,
  Webhook,
  WebhookAttempt,
  WebhookAttemptRecord,
  WebhookEventType,
} from '../store.js'
import { webhookFromRow, type WebhookRow } from '../rows.js'
import { recordCacheChanges } from './cache-changes.js'
import { transaction, type Queryable } from './pool.js'

/** Writes events into the outbox in one statement, due at once. */
export async function insertWebhookEvents(db: Queryable, events: NewWebhookEvent[]): Promise<void> {
  if (events.length === 0) return
  await db.query(
    `INSERT INTO webhook_events (public_id, webhook_id, type, body, created_at, next_attempt_at)
     SELECT id, webhook_id, type, body, at, at
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[]) AS t(id, webhook_id, type, body, at)`,
    [
      events.map((e) => e.publicId),
      events.map((e) => e.webhookId),
      events.map((e) => e.type),
      events.map((e) => e.body),
      events.map((e) => e.at),
    ],
  )
}

/** Webhook registrations and the durable outbox: due events, attempts, backlog. */
export class PostgresWebhooks {
  constructor(private readonly pool: pg.Pool) {}

  async createWebhook(webhook: NewWebhook): Promise<Webhook> {
    const { rows } = await this.pool.query<WebhookRow>(
      `WITH w AS (INSERT INTO webhooks (public_id, tenant_id, url, events, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *),
       c AS (INSERT INTO cache_changes (kind, key, at) SELECT 'webhooks', tenant_id::text, $7 FROM w)
       SELECT * FROM w`,
      [
        webhook.publicId,
        webhook.tenantId,
        webhook.url,
        webhook.events.join(','),
        webhook.secret,
        webhook.createdAt,
        Date.now(),
      ],
    )
    return webhookFromRow(rows[0]!)
  }

  async listWebhooks(tenantId: number): Promise<Webhook[]> {
    const { rows } = await this.pool.query<WebhookRow>(
      'SELECT * FROM webhooks WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY id',
      [tenantId],
    )
    return rows.map(webhookFromRow)
  }

  async getWebhook(tenantId: number, publicId: string): Promise<Webhook | null> {
    const { rows } = await this.pool.query<WebhookRow>(
      'SELECT * FROM webhooks WHERE tenant_id = $1 AND public_id = $2 AND deleted_at IS NULL',
      [tenantId, publicId],
    )
    return rows[0] ? webhookFromRow(rows[0]) : null
  }

  async deleteWebhook(tenantId: number, publicId: string, now: number): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: number }>(
        `UPDATE webhooks SET deleted_at = $1 WHERE tenant_id = $2 AND public_id = $3 AND deleted_at IS NULL
         RETURNING id`,
        [now, tenantId, publicId],
      )
      if (rows[0] === undefined) return false
      await client.query("UPDATE webhook_events SET state = 'cancelled' WHERE webhook_id = $1 AND state = 'pending'", [
        rows[0].id,
      ])
      await recordCacheChanges(client, 'webhooks', [tenantId])
      return true
    })
  }

  async subscribedWebhooks(type: WebhookEventType): Promise<Map<number, number[]>> {
    const { rows } = await this.pool.query<{ id: number; tenant_id: number }>(
      `SELECT id, tenant_id FROM webhooks WHERE deleted_at IS NULL AND $1 = ANY(string_to_array(events, ','))
       ORDER BY id`,
      [type],
    )
    const byTenant = new Map<number, number[]>()
    for (const row of rows) {
      const ids = byTenant.get(row.tenant_id)
      if (ids) ids.push(row.id)
      else byTenant.set(row.tenant_id, [row.id])
    }
    return byTenant
  }

  async dueWebhookEvents(now: number, limit: number, skipTenants: readonly number[] = []): Promise<DueWebhookEvent[]> {
    const { rows } = await this.pool.query<DueWebhookEvent>(
      `SELECT e.id, e.public_id AS "publicId", e.webhook_id AS "webhookId", w.tenant_id AS "tenantId", w.url,
              w.secret, e.body, e.attempts, e.created_at AS "createdAt"
       FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
       WHERE e.state = 'pending' AND e.next_attempt_at <= $1 AND w.deleted_at IS NULL
         AND w.tenant_id <> ALL($3::bigint[])
       ORDER BY e.next_attempt_at, e.id LIMIT $2`,
      [now, limit, skipTenants],
    )
    return rows
  }

  async claimWebhookEvents(
    now: number,
    leaseUntil: number,
    limit: number,
    skipTenants: readonly number[] = [],
  ): Promise<DueWebhookEvent[]> {
    // SKIP LOCKED: an instance claiming at the same moment takes other rows instead of
    // waiting; once this commits, the moved next_attempt_at keeps them out of its reach.
    const { rows } = await this.pool.query<DueWebhookEvent>(
      `WITH due AS (
         SELECT e.id FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
         WHERE e.state = 'pending' AND e.next_attempt_at <= $1 AND w.deleted_at IS NULL
           AND w.tenant_id <> ALL($4::bigint[])
         ORDER BY e.next_attempt_at, e.id LIMIT $3
         FOR UPDATE OF e SKIP LOCKED)
       UPDATE webhook_events e SET next_attempt_at = $2 FROM due, webhooks w
       WHERE e.id = due.id AND w.id = e.webhook_id
       RETURNING e.id, e.public_id AS "publicId", e.webhook_id AS "webhookId", w.tenant_id AS "tenantId", w.url,
                 w.secret, e.body, e.attempts, e.created_at AS "createdAt"`,
      [now, leaseUntil, limit, skipTenants],
    )
    return rows.sort((a, b) => a.id - b.id)
  }

  async releaseWebhookEvents(eventIds: readonly number[], leaseUntil: number, now: number): Promise<void> {
    if (eventIds.length === 0) return
    await this.pool.query(
      `UPDATE webhook_events SET next_attempt_at = $3
       WHERE id = ANY($1::bigint[]) AND next_attempt_at = $2 AND state = 'pending'`,
      [eventIds, leaseUntil, now],
    )
  }

  async recordWebhookAttempt(attempt: WebhookAttempt): Promise<void> {
    const state = attempt.outcome === 'retrying' ? 'pending' : attempt.outcome
    // One statement: the event moves on and its attempt is logged with the attempt's number.
    await this.pool.query(
      `WITH e AS (
         UPDATE webhook_events SET attempts = attempts + 1,
           state = CASE state WHEN 'cancelled' THEN state ELSE $1 END,
           next_attempt_at = coalesce($2, next_attempt_at)
         WHERE id = $3 RETURNING attempts)
       INSERT INTO webhook_attempts (webhook_id, event_id, attempt, at, status_code, error, outcome)
       SELECT $4, $3, attempts, $5, $6, $7, $8 FROM e`,
      [
        state,
        attempt.nextAttemptAt,
        attempt.eventId,
        attempt.webhookId,
        attempt.at,
        attempt.statusCode,
        attempt.error,
        attempt.outcome,
      ],
    )
  }

  async webhookAttempts(webhookId: number, limit: number): Promise<WebhookAttemptRecord[]> {
    const { rows } = await this.pool.query<WebhookAttemptRecord>(
      `SELECT e.public_id AS "eventPublicId", e.type, a.attempt, a.at, a.status_code AS "statusCode", a.error, a.outcome
       FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id
       WHERE a.webhook_id = $1 ORDER BY a.id DESC LIMIT $2`,
      [webhookId, limit],
    )
    return rows
  }

  async pendingWebhookEvents(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      "SELECT count(*) AS n FROM webhook_events WHERE state = 'pending'",
    )
    return rows[0]!.n
  }
}
