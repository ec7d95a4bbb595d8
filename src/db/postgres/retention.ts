import type pg from 'pg'
import { recordCacheChanges } from './cache-changes.js'
import { transaction } from './pool.js'

/** Deleting expired raw rows, and erasing one recipient. */
export class PostgresRetention {
  constructor(private readonly pool: pg.Pool) {}

  async deleteClicksBefore(before: number, limit: number): Promise<number> {
    // Oldest first through clicks_at: each batch reads only the rows it deletes.
    const { rowCount } = await this.pool.query(
      'DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE at < $1 ORDER BY at LIMIT $2)',
      [before, limit],
    )
    return rowCount ?? 0
  }

  async pruneWebhookOutbox(before: number, limit: number): Promise<number> {
    return transaction(this.pool, async (client) => {
      const attempts = await client.query(
        'DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE at < $1 ORDER BY at LIMIT $2)',
        [before, limit],
      )
      const events = await client.query(
        `DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
           WHERE state <> 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2)`,
        [before, limit],
      )
      return (attempts.rowCount ?? 0) + (events.rowCount ?? 0)
    })
  }

  async messagesWithRecipient(tenantId: number, recipientId: string): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: number }>(
      `SELECT m.id FROM messages m JOIN recipients r ON r.message_id = m.id AND r.external_id = $1
       WHERE m.tenant_id = $2 ORDER BY m.id`,
      [recipientId, tenantId],
    )
    return rows.map((row) => row.id)
  }

  async eraseRecipientFromMessage(messageId: number, recipientId: string, tombstone: string): Promise<void> {
    await transaction(this.pool, async (client) => {
      const { rows } = await client.query<{ idx: number }>(
        'UPDATE recipients SET external_id = $1 WHERE message_id = $2 AND external_id = $3 RETURNING idx',
        [tombstone, messageId, recipientId],
      )
      if (rows[0] === undefined) return
      await client.query(
        `UPDATE clicks SET user_agent_id = NULL, network = NULL, click_id = NULL
         WHERE message_id = $1 AND recipient_idx = $2`,
        [messageId, rows[0].idx],
      )
      await recordCacheChanges(client, 'recipient', [`${messageId}/${rows[0].idx}`])
    })
  }

  async scrubRecipientClicks(messageId: number, recipientIdx: number): Promise<void> {
    await this.pool.query(
      `UPDATE clicks SET user_agent_id = NULL, network = NULL, click_id = NULL
       WHERE message_id = $1 AND recipient_idx = $2`,
      [messageId, recipientIdx],
    )
  }

  async eraseRecipientTraces(tenantId: number, recipientId: string, suppressionKey: string): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      const events = await client.query<{ id: number }>(
        `SELECT e.id FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
         WHERE w.tenant_id = $1 AND e.body::jsonb ->> 'recipientId' = $2`,
        [tenantId, recipientId],
      )
      const ids = events.rows.map((row) => row.id)
      if (ids.length > 0) {
        await client.query('DELETE FROM webhook_attempts WHERE event_id = ANY($1::bigint[])', [ids])
        await client.query('DELETE FROM webhook_events WHERE id = ANY($1::bigint[])', [ids])
      }
      const optOuts = await client.query(
        'UPDATE optouts SET recipient_id = $1 WHERE tenant_id = $2 AND recipient_id = $3',
        [suppressionKey, tenantId, recipientId],
      )
      // Same rows, same ids: the changes keep their places in the feed.
      const changes = await client.query(
        'UPDATE optout_changes SET recipient_id = $1 WHERE tenant_id = $2 AND recipient_id = $3',
        [suppressionKey, tenantId, recipientId],
      )
      return ids.length + (optOuts.rowCount ?? 0) + (changes.rowCount ?? 0) > 0
    })
  }
}
