import { cacheChangeRecorder, type RecordCacheChange } from './cache-changes.js'
import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import { ERASED_OPTOUT } from './optouts.js'
import type { RetentionStore } from '../store.js'

function prepare(db: SqliteDatabase) {
  return {
    // Oldest first through clicks_at: each batch reads only the rows it deletes.
    deleteOldClicks: db.prepare(
      'DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE at < ? ORDER BY at LIMIT ?)',
    ),
    messagesWithRecipient: db
      .prepare(
        `SELECT m.id FROM messages m JOIN recipients r ON r.message_id = m.id AND r.external_id = ?
       WHERE m.tenant_id = ? ORDER BY m.id`,
      )
      .pluck(),
    tombstoneRecipient: db
      .prepare('UPDATE recipients SET external_id = ? WHERE message_id = ? AND external_id = ? RETURNING idx')
      .pluck(),
    scrubClicks: db.prepare(
      `UPDATE clicks SET user_agent_id = NULL, network = NULL, click_id = NULL
       WHERE message_id = ? AND recipient_idx = ?`,
    ),
    eventsNamingRecipient: db
      .prepare(
        `SELECT e.id FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
       WHERE w.tenant_id = ? AND json_extract(e.body, '$.recipientId') = ?`,
      )
      .pluck(),
    deleteEventAttempts: db.prepare('DELETE FROM webhook_attempts WHERE event_id = ?'),
    deleteEvent: db.prepare('DELETE FROM webhook_events WHERE id = ?'),
    rekeyOptOut: db.prepare('UPDATE optouts SET recipient_id = ? WHERE tenant_id = ? AND recipient_id = ?'),
    rekeyOptOutChanges: db.prepare(
      'UPDATE optout_changes SET recipient_id = ? WHERE tenant_id = ? AND recipient_id = ?',
    ),
    hasErasedOptOuts: db.prepare(ERASED_OPTOUT).pluck(),
  }
}

/** Deleting expired raw rows, and erasing a recipient. */
export class SqliteRetention implements RetentionStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']
  private readonly recordChange: RecordCacheChange

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
    this.write = connection.write
    this.recordChange = cacheChangeRecorder(connection.db)
  }

  async deleteClicksBefore(before: number, limit: number): Promise<number> {
    return this.sql.deleteOldClicks.run(before, limit).changes
  }

  async messagesWithRecipient(tenantId: number, recipientId: string): Promise<number[]> {
    return this.sql.messagesWithRecipient.all(recipientId, tenantId) as number[]
  }

  async eraseRecipientFromMessage(messageId: number, recipientId: string, tombstone: string): Promise<void> {
    this.write(() => {
      const idx = this.sql.tombstoneRecipient.get(tombstone, messageId, recipientId) as number | undefined
      if (idx === undefined) return
      this.sql.scrubClicks.run(messageId, idx)
      this.recordChange('recipient', `${messageId}/${idx}`)
    })
  }

  async scrubRecipientClicks(messageId: number, recipientIdx: number): Promise<void> {
    this.sql.scrubClicks.run(messageId, recipientIdx)
  }

  async eraseRecipientTraces(tenantId: number, recipientId: string, suppressionKey: string): Promise<boolean> {
    return this.write(() => {
      const events = this.sql.eventsNamingRecipient.all(tenantId, recipientId) as number[]
      for (const id of events) {
        this.sql.deleteEventAttempts.run(id)
        this.sql.deleteEvent.run(id)
      }
      const optOuts = this.sql.rekeyOptOut.run(suppressionKey, tenantId, recipientId).changes
      const changes = this.sql.rekeyOptOutChanges.run(suppressionKey, tenantId, recipientId).changes
      return events.length + optOuts + changes > 0
    })
  }

  async hasErasedOptOuts(tenantId: number): Promise<boolean> {
    return this.sql.hasErasedOptOuts.get(tenantId) !== undefined
  }
}

retryingWhileBusy(SqliteRetention)
