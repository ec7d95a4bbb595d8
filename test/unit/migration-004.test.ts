import t from 'tap'
import { migrate, readMigrations } from '../../src/db/migrate.js'
import { openDatabase } from '../../src/db/open.js'
import { tempDatabasePath } from '../helpers.js'

t.test('migration 004 moves previews out of clicks_bots and counts reasons of stored clicks', async (t) => {
  const db = openDatabase(tempDatabasePath(t))
  migrate(db, readMigrations().slice(0, 3))
  db.exec(`
    INSERT INTO tenants (id, public_id, name, created_at) VALUES (1, 'ten_1', 'Shop', 0);
    INSERT INTO domains (id, tenant_id, host, base_url, created_at) VALUES (1, 1, 's.shop.dk', 'https://s.shop.dk', 0);
    INSERT INTO messages (id, public_id, tenant_id, domain_id, kind, recipient_count, created_at) VALUES (1, 'msg_1', 1, 1, 'campaign', 2, 0);
    INSERT INTO links (id, public_id, message_id, domain_id, position, code, url) VALUES (1, 'lnk_1', 1, 1, 0, 'abc123', 'https://shop.dk');
    INSERT INTO recipients (message_id, idx, external_id, delivery_status, delivery_at) VALUES (1, 0, 'a', 'delivered', 500), (1, 1, 'b', NULL, NULL);
    INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason) VALUES
      (1000, 1, 1, 0, 'human', NULL), (1001, 1, 1, 0, 'preview', 'preview_user_agent'),
      (1002, 1, 1, 0, 'preview', 'preview_user_agent'), (1003, 1, 1, NULL, 'bot', 'head_request');
    INSERT INTO message_counters (message_id, clicks_total, clicks_unique, clicks_bots, delivered) VALUES (1, 1, 1, 3, 1);
    INSERT INTO link_counters (link_id, clicks_total, clicks_unique, clicks_bots) VALUES (1, 1, 1, 3);
  `)
  t.same(
    migrate(db),
    readMigrations()
      .slice(3)
      .map((m) => m.version),
  )
  t.same(
    db
      .prepare(
        'SELECT clicks_bots AS bots, clicks_previews AS previews, last_delivery_at AS lastDelivery FROM message_counters',
      )
      .get(),
    {
      bots: 1,
      previews: 2,
      lastDelivery: 500,
    },
  )
  t.same(db.prepare('SELECT clicks_bots AS bots, clicks_previews AS previews FROM link_counters').get(), {
    bots: 1,
    previews: 2,
  })
  t.same(db.prepare('SELECT reason, clicks FROM message_reason_counters ORDER BY reason').all(), [
    { reason: 'head_request', clicks: 1 },
    { reason: 'preview_user_agent', clicks: 2 },
  ])
  db.close()
})
