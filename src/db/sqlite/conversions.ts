import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type { ConversionStore, NewConversion, StoredConversion } from '../store.js'

function prepare(db: SqliteDatabase) {
  return {
    findConversion: db.prepare(
      `SELECT c.external_id AS id, m.public_id AS messagePublicId, r.external_id AS recipientId, c.click_id AS clickId,
         c.click_at AS clickAt, c.value, c.currency, c.at
       FROM conversions c JOIN messages m ON m.id = c.message_id
       LEFT JOIN recipients r ON r.message_id = c.message_id AND r.idx = c.recipient_idx
       WHERE c.tenant_id = ? AND c.external_id = ?`,
    ),
    insertConversion: db.prepare(
      `INSERT INTO conversions (tenant_id, external_id, message_id, recipient_idx, click_id, click_at, value, currency, at)
       VALUES (@tenantId, @id, @messageId, @recipientIdx, @clickId, @clickAt, @value, @currency, @at)
       ON CONFLICT (tenant_id, external_id) DO NOTHING`,
    ),
    bumpConversions: db.prepare('UPDATE message_counters SET conversions = conversions + 1 WHERE message_id = ?'),
    addRevenue: db.prepare(
      `INSERT INTO message_revenue (message_id, currency, amount) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET amount = amount + excluded.amount`,
    ),
  }
}

/** Conversions attributed to clicks, and the counters and revenue they move. */
export class SqliteConversions implements ConversionStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
    this.write = connection.write
  }

  async findConversion(tenantId: number, id: string): Promise<StoredConversion | null> {
    return (this.sql.findConversion.get(tenantId, id) as StoredConversion | undefined) ?? null
  }

  async recordConversion(conversion: NewConversion): Promise<{ conversion: StoredConversion; created: boolean }> {
    return this.write(() => {
      const created = this.sql.insertConversion.run(conversion).changes === 1
      if (created) {
        this.sql.bumpConversions.run(conversion.messageId)
        this.sql.addRevenue.run(conversion.messageId, conversion.currency, conversion.value)
      }
      return {
        conversion: this.sql.findConversion.get(conversion.tenantId, conversion.id) as StoredConversion,
        created,
      }
    })
  }
}

retryingWhileBusy(SqliteConversions)
