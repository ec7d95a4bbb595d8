import type pg from 'pg'
import type { NewConversion, StoredConversion } from '../store.js'
import { transaction, type Queryable } from './pool.js'

/** Conversions attributed to messages, and the message counters they move. */
export class PostgresConversions {
  constructor(private readonly pool: pg.Pool) {}

  async findConversion(tenantId: number, id: string): Promise<StoredConversion | null> {
    return findConversion(this.pool, tenantId, id)
  }

  async recordConversion(conversion: NewConversion): Promise<{ conversion: StoredConversion; created: boolean }> {
    return transaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO conversions (tenant_id, external_id, message_id, recipient_idx, click_id, click_at, value, currency, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, external_id) DO NOTHING`,
        [
          conversion.tenantId,
          conversion.id,
          conversion.messageId,
          conversion.recipientIdx,
          conversion.clickId,
          conversion.clickAt,
          conversion.value,
          conversion.currency,
          conversion.at,
        ],
      )
      const created = inserted.rowCount === 1
      if (created) {
        await client.query('UPDATE message_counters SET conversions = conversions + 1 WHERE message_id = $1', [
          conversion.messageId,
        ])
        await client.query(
          `INSERT INTO message_revenue (message_id, currency, amount) VALUES ($1, $2, $3)
           ON CONFLICT (message_id, currency) DO UPDATE SET amount = message_revenue.amount + excluded.amount`,
          [conversion.messageId, conversion.currency, conversion.value],
        )
      }
      // A conflicting insert waited for the first one to commit; this read sees it.
      const stored = await findConversion(client, conversion.tenantId, conversion.id)
      return { conversion: stored!, created }
    })
  }
}

async function findConversion(db: Queryable, tenantId: number, id: string): Promise<StoredConversion | null> {
  const { rows } = await db.query<StoredConversion>(
    `SELECT c.external_id AS id, m.public_id AS "messagePublicId", r.external_id AS "recipientId", c.click_id AS "clickId",
       c.click_at AS "clickAt", c.value, c.currency, c.at
     FROM conversions c JOIN messages m ON m.id = c.message_id
     LEFT JOIN recipients r ON r.message_id = c.message_id AND r.idx = c.recipient_idx
     WHERE c.tenant_id = $1 AND c.external_id = $2`,
    [tenantId, id],
  )
  return rows[0] ?? null
}
