import { setTimeout as sleep } from 'node:timers/promises'
import { customAlphabet } from 'nanoid'
import type { ClickRow, ExportedClick } from '../click.js'
import { firstClickBucket } from '../first-click-delay.js'
import { clickSeriesBucket } from '../click-series.js'
import { BASE62 } from '../base62.js'
import { migrate } from './migrate.js'
import { openDatabase, type SqliteDatabase } from './open.js'
import {
  ConflictError,
  type AddedRecipients,
  type ApiKeyOwner,
  type BreakdownCount,
  type ClickTimingRules,
  type ClickCounters,
  type DeliveryReport,
  type DeliveryReportResult,
  type DeliveryStatus,
  type Domain,
  type DueWebhookEvent,
  type LinkTarget,
  type Message,
  type MessageCounters,
  type MessageKind,
  type MessagePage,
  type MessageFilter,
  type MessageTotals,
  type NewConversion,
  type StoredConversion,
  type MessageText,
  type NewMessage,
  type NewWebhook,
  type OptOutPage,
  type OptOutResult,
  type RecipientIndex,
  type Store,
  type Tenant,
  type UnsubscribeTarget,
  type Webhook,
  type WebhookAttempt,
  type WebhookAttemptRecord,
  type WebhookEventType,
  type TextSpan,
  type UtmParams,
} from './store.js'

interface MessageRow {
  id: number
  public_id: string
  tenant_id: number
  domain_id: number
  external_id: string | null
  kind: MessageKind
  campaign: string | null
  variant: string | null
  recipient_count: number
  created_at: number
  unsubscribe_code: string | null
  text: string | null
  text_spans: string | null
  strip_scheme: number
  utm: string | null
  click_id_param: string | null
  expires_at: number | null
}

interface LinkRow {
  id: number
  public_id: string
  position: number
  code: string
  url: string
}

interface CounterRow {
  clicks_total: number
  clicks_unique: number
  clicks_bots: number
  clicks_previews: number
}

/** What the click flush needs of a message, read once per message per batch. */
interface MessageFacts {
  recipients: number
  links: number
  createdAt: number
  /** The latest delivery report time of any of its recipients. */
  lastDeliveryAt: number | null
}

/** Facts for a click whose message is gone: no recipient can be valid for it. */
const NO_MESSAGE: MessageFacts = { recipients: 0, links: 0, createdAt: 0, lastDeliveryAt: null }

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

interface MessageCounterRow extends CounterRow {
  delivered: number
  failed: number
  unsubscribe_visits: number
  unsubscribes: number
  conversions: number
}

interface WebhookRow {
  id: number
  public_id: string
  tenant_id: number
  url: string
  events: string
  created_at: number
}

/** Event ids: `evt_` and 20 base62 characters, unique across webhooks and restarts. */
const newEventId = customAlphabet(BASE62, 20)

/**
 * Recipients per multi-row insert. Per row, better-sqlite3's call (bind, step, reset,
 * result object) costs about as much as SQLite's two B-tree inserts, so one call
 * inserts many rows (figures in docs/adr/0023).
 */
const RECIPIENT_CHUNK = 500

const counters = (row: CounterRow | undefined): ClickCounters => ({
  total: row?.clicks_total ?? 0,
  unique: row?.clicks_unique ?? 0,
  bots: row?.clicks_bots ?? 0,
  previews: row?.clicks_previews ?? 0,
})

/**
 * Counters summed over a set of messages: the select list and FROM of the roll-up
 * statements, which add their own WHERE. A message "reported" once any delivery
 * report came; its CTR denominator (reach) is then delivered, else recipients.
 */
const TOTALS = `count(*) AS messages, CASE WHEN count(DISTINCT m.kind) = 1 THEN min(m.kind) END AS kind,
  coalesce(sum(m.recipient_count), 0) AS recipients,
  coalesce(sum(c.delivered), 0) AS delivered,
  coalesce(sum(c.delivered + c.failed > 0), 0) AS reportedMessages,
  coalesce(sum(CASE WHEN c.delivered + c.failed > 0 THEN c.delivered ELSE m.recipient_count END), 0) AS reach,
  coalesce(sum(c.clicks_unique), 0) AS uniqueClickers,
  coalesce(sum(c.unsubscribes), 0) AS unsubscribes
  FROM messages m JOIN message_counters c ON c.message_id = m.id`

/** Every statement the store runs, prepared once when it opens. */
function prepareStatements(db: SqliteDatabase) {
  return {
    getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
    insertSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    insertTenant: db.prepare('INSERT INTO tenants (public_id, name, created_at) VALUES (?, ?, ?)'),
    getTenant: db.prepare(
      'SELECT id, public_id AS publicId, name, created_at AS createdAt FROM tenants WHERE public_id = ?',
    ),
    countTenants: db.prepare('SELECT count(*) AS n FROM tenants'),
    getDomainByHost: db.prepare('SELECT id FROM domains WHERE host = ?'),
    insertDomain: db.prepare('INSERT INTO domains (tenant_id, host, base_url, created_at) VALUES (?, ?, ?, ?)'),
    listDomains: db.prepare(
      'SELECT id, tenant_id AS tenantId, host, base_url AS baseUrl, fallback_url AS fallbackUrl FROM domains ORDER BY id',
    ),
    insertApiKey: db.prepare(
      'INSERT INTO api_keys (tenant_id, public_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    findApiKey: db.prepare(
      'SELECT id AS keyId, tenant_id AS tenantId FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL',
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (public_id, tenant_id, domain_id, external_id, kind, campaign, variant, created_at,
         text, text_spans, strip_scheme, utm, click_id_param)
       VALUES (@publicId, @tenantId, @domainId, @externalId, @kind, @campaign, @variant, @createdAt,
         @text, @textSpans, @stripScheme, @utm, @clickIdParam)`,
    ),
    insertMessageCounters: db.prepare('INSERT INTO message_counters (message_id) VALUES (?)'),
    insertLink: db.prepare(
      'INSERT INTO links (public_id, message_id, domain_id, position, code, url) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertLinkCounters: db.prepare('INSERT INTO link_counters (link_id) VALUES (?)'),
    getMessageById: db.prepare('SELECT * FROM messages WHERE id = ?'),
    getMessageByPublicId: db.prepare('SELECT * FROM messages WHERE public_id = ? AND tenant_id = ?'),
    getMessageByExternalId: db.prepare('SELECT * FROM messages WHERE tenant_id = ? AND external_id = ?'),
    listMessages: db.prepare('SELECT * FROM messages WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
    listMessagesFiltered: db.prepare(
      `SELECT * FROM messages WHERE tenant_id = @tenantId AND id < @before
         AND (@campaign IS NULL OR campaign = @campaign) AND (@kind IS NULL OR kind = @kind)
         AND created_at >= @from AND created_at < @to
       ORDER BY id DESC LIMIT @limit`,
    ),
    linksOfMessage: db.prepare(
      'SELECT id, public_id, position, code, url FROM links WHERE message_id = ? ORDER BY position',
    ),
    codeExists: db.prepare('SELECT 1 FROM links WHERE domain_id = ? AND code = ?'),
    insertRecipient: db.prepare(
      'INSERT INTO recipients (message_id, idx, external_id) VALUES (?, ?, ?) ON CONFLICT (message_id, external_id) DO NOTHING',
    ),
    // Plain INSERT: a chunk holding a recipient already there fails as a whole (and is undone).
    insertRecipientChunk: db.prepare(
      `INSERT INTO recipients (message_id, idx, external_id) VALUES ${Array(RECIPIENT_CHUNK).fill('(?, ?, ?)').join(', ')}`,
    ),
    recipientIndex: db.prepare('SELECT idx FROM recipients WHERE message_id = ? AND external_id = ?').pluck(),
    setRecipientCount: db.prepare('UPDATE messages SET recipient_count = ? WHERE id = ?'),
    findLinkTarget: db.prepare(
      `SELECT l.id AS linkId, l.message_id AS messageId, l.url, m.utm, m.click_id_param AS clickIdParam,
         m.expires_at AS expiresAt
       FROM links l JOIN messages m ON m.id = l.message_id WHERE l.domain_id = ? AND l.code = ?`,
    ),
    findUserAgent: db.prepare('SELECT id FROM user_agents WHERE ua = ?'),
    insertUserAgent: db.prepare('INSERT INTO user_agents (ua) VALUES (?)'),
    insertClick: db.prepare(
      `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network, click_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertMessageUnique: db.prepare(
      'INSERT INTO message_uniques (message_id, recipient_idx, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    insertLinkUnique: db.prepare(
      'INSERT INTO link_uniques (link_id, recipient_idx, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    bumpMessageCounters: db.prepare(
      `UPDATE message_counters SET clicks_total = clicks_total + ?, clicks_unique = clicks_unique + ?,
       clicks_bots = clicks_bots + ?, clicks_previews = clicks_previews + ? WHERE message_id = ?`,
    ),
    bumpLinkCounters: db.prepare(
      `UPDATE link_counters SET clicks_total = clicks_total + ?, clicks_unique = clicks_unique + ?,
       clicks_bots = clicks_bots + ?, clicks_previews = clicks_previews + ? WHERE link_id = ?`,
    ),
    messageCounters: db.prepare('SELECT * FROM message_counters WHERE message_id = ?'),
    linkCounters: db.prepare(
      `SELECT l.id AS link_id, c.clicks_total, c.clicks_unique, c.clicks_bots, c.clicks_previews
       FROM links l LEFT JOIN link_counters c ON c.link_id = l.id WHERE l.message_id = ? ORDER BY l.position`,
    ),
    setUnsubscribeCode: db.prepare('UPDATE messages SET unsubscribe_code = ? WHERE id = ?'),
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
      'UPDATE recipients SET delivery_status = ?, delivery_at = ? WHERE message_id = ? AND idx = ?',
    ),
    bumpDeliveries: db.prepare(
      'UPDATE message_counters SET delivered = delivered + ?, failed = failed + ? WHERE message_id = ?',
    ),
    insertWebhook: db.prepare(
      `INSERT INTO webhooks (public_id, tenant_id, url, events, secret, created_at)
       VALUES (@publicId, @tenantId, @url, @events, @secret, @createdAt)`,
    ),
    liveWebhooks: db.prepare('SELECT * FROM webhooks WHERE deleted_at IS NULL ORDER BY id'),
    webhooksOfTenant: db.prepare('SELECT * FROM webhooks WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY id'),
    webhookOfTenant: db.prepare('SELECT * FROM webhooks WHERE tenant_id = ? AND public_id = ? AND deleted_at IS NULL'),
    deleteWebhook: db.prepare('UPDATE webhooks SET deleted_at = ? WHERE id = ?'),
    cancelWebhookEvents: db.prepare(
      "UPDATE webhook_events SET state = 'cancelled' WHERE webhook_id = ? AND state = 'pending'",
    ),
    insertWebhookEvent: db.prepare(
      `INSERT INTO webhook_events (public_id, webhook_id, type, body, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    dueWebhookEvents: db.prepare(
      `SELECT e.id, e.public_id AS publicId, e.webhook_id AS webhookId, w.url, w.secret, e.body, e.attempts,
              e.created_at AS createdAt
       FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id
       WHERE e.state = 'pending' AND e.next_attempt_at <= ? AND w.deleted_at IS NULL
       ORDER BY e.next_attempt_at, e.id LIMIT ?`,
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
    linkPublic: db.prepare('SELECT public_id AS publicId, url FROM links WHERE id = ?'),
    webhookAttempts: db.prepare(
      `SELECT e.public_id AS eventPublicId, e.type, a.attempt, a.at, a.status_code AS statusCode, a.error, a.outcome
       FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id
       WHERE a.webhook_id = ? ORDER BY a.id DESC LIMIT ?`,
    ),
    findClick: db.prepare(
      `SELECT click_id AS clickId, at, message_id AS messageId, link_id AS linkId, recipient_idx AS recipientIdx, class
       FROM clicks WHERE click_id = ? ORDER BY id LIMIT 1`,
    ),
    writeProbe: db.prepare(
      "INSERT INTO settings (key, value) VALUES ('readiness_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    // Revoking twice keeps the first time: a retried DELETE changes nothing.
    revokeApiKey: db.prepare(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND public_id = ?',
    ),
    listTenants: db.prepare('SELECT id, public_id AS publicId, name, created_at AS createdAt FROM tenants ORDER BY id'),
    // Counted through the partial index webhook_events_due, which holds exactly the pending rows.
    pendingWebhookEvents: db.prepare("SELECT count(*) FROM webhook_events WHERE state = 'pending'").pluck(),
    allowedHosts: db.prepare('SELECT pattern FROM destination_hosts WHERE tenant_id = ? ORDER BY pattern').pluck(),
    deleteAllowedHosts: db.prepare('DELETE FROM destination_hosts WHERE tenant_id = ?'),
    insertAllowedHost: db.prepare(
      'INSERT INTO destination_hosts (tenant_id, pattern) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    setMessageExpiry: db.prepare('UPDATE messages SET expires_at = ? WHERE id = ?'),
    setDomainFallback: db.prepare(
      `UPDATE domains SET fallback_url = ? WHERE tenant_id = ? AND host = ?
       RETURNING id, tenant_id AS tenantId, host, base_url AS baseUrl, fallback_url AS fallbackUrl`,
    ),
    // Oldest first through clicks_at: each batch reads only the rows it deletes.
    deleteOldClicks: db.prepare(
      'DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE at < ? ORDER BY at LIMIT ?)',
    ),
    deleteOldWebhookAttempts: db.prepare(
      'DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE at < ? ORDER BY at LIMIT ?)',
    ),
    deleteOldWebhookEvents: db.prepare(
      `DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events
         WHERE state <> 'pending' AND created_at < ? ORDER BY created_at LIMIT ?)`,
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
    // Suppression keys sort between 'erased:' and 'erased;': an index range, not a scan.
    hasErasedOptOuts: db
      .prepare(
        "SELECT 1 FROM optouts WHERE tenant_id = ? AND recipient_id >= 'erased:' AND recipient_id < 'erased;' LIMIT 1",
      )
      .pluck(),
    // What the click flush needs of a message, read once per message per batch.
    messageFacts: db.prepare(
      `SELECT m.recipient_count AS recipients, m.created_at AS createdAt, c.last_delivery_at AS lastDeliveryAt,
         (SELECT count(*) FROM links WHERE message_id = m.id) AS links
       FROM messages m LEFT JOIN message_counters c ON c.message_id = m.id WHERE m.id = ?`,
    ),
    recipientDeliveredAt: db.prepare('SELECT delivery_at FROM recipients WHERE message_id = ? AND idx = ?').pluck(),
    bumpLastDelivery: db.prepare(
      'UPDATE message_counters SET last_delivery_at = max(coalesce(last_delivery_at, ?), ?) WHERE message_id = ?',
    ),
    addReasonClicks: db.prepare(
      `INSERT INTO message_reason_counters (message_id, reason, clicks) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`,
    ),
    addBreakdownClicks: db.prepare(
      `INSERT INTO message_breakdowns (message_id, dimension, value, clicks) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`,
    ),
    reasonCounters: db.prepare('SELECT reason, clicks FROM message_reason_counters WHERE message_id = ?'),
    breakdownCounters: db.prepare('SELECT dimension, value, clicks FROM message_breakdowns WHERE message_id = ?'),
    addSeriesClicks: db.prepare(
      `INSERT INTO message_click_series (message_id, bucket, clicks) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET clicks = clicks + excluded.clicks`,
    ),
    clickSeries: db.prepare(
      'SELECT bucket, clicks FROM message_click_series WHERE message_id = ? AND clicks > 0 ORDER BY bucket',
    ),
    endDashboardSession: db.prepare(
      'INSERT INTO dashboard_session_ends (session_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    forgetEndedSessions: db.prepare('DELETE FROM dashboard_session_ends WHERE expires_at <= ?'),
    dashboardSessionLive: db
      .prepare(
        `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM dashboard_session_ends WHERE session_id = ?)`,
      )
      .pluck(),
    listClicks: db.prepare(
      `SELECT c.id, c.at, l.public_id AS linkPublicId, r.external_id AS recipientId, c.class, c.reason, u.ua AS userAgent
       FROM clicks c JOIN links l ON l.id = c.link_id
       LEFT JOIN recipients r ON r.message_id = c.message_id AND r.idx = c.recipient_idx
       LEFT JOIN user_agents u ON u.id = c.user_agent_id
       WHERE c.message_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
    ),
    campaignTotals: db.prepare(`SELECT ${TOTALS} WHERE m.tenant_id = ? AND m.campaign = ?`),
    variantTotals: db.prepare(
      `SELECT m.variant, ${TOTALS} WHERE m.tenant_id = ? AND m.campaign = ? AND m.variant IS NOT NULL
       GROUP BY m.variant ORDER BY m.variant`,
    ),
    setLastClick: db.prepare(
      'UPDATE message_uniques SET last_at = max(coalesce(last_at, first_at), ?) WHERE message_id = ? AND recipient_idx = ?',
    ),
    lastHumanClick: db
      .prepare('SELECT coalesce(last_at, first_at) FROM message_uniques WHERE message_id = ? AND recipient_idx = ?')
      .pluck(),
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
    revenueOf: db.prepare('SELECT currency, amount FROM message_revenue WHERE message_id = ? ORDER BY currency'),
    engagedRecipients: db
      .prepare(
        `SELECT DISTINCT r.external_id FROM messages m
       JOIN message_uniques u ON u.message_id = m.id
       JOIN recipients r ON r.message_id = u.message_id AND r.idx = u.recipient_idx
       WHERE m.tenant_id = ? AND coalesce(u.last_at, u.first_at) >= ? AND r.external_id > ?
       ORDER BY r.external_id LIMIT ?`,
      )
      .pluck(),
    kindTotals: db.prepare(
      `SELECT ${TOTALS} WHERE m.tenant_id = ? AND m.kind = ? AND m.created_at >= ? AND m.created_at < ?`,
    ),
  }
}

type Statements = ReturnType<typeof prepareStatements>

/** User agents remembered by the writer, so a repeat costs no lookup. */
const USER_AGENT_MEMORY = 10_000

/**
 * The SQLite store: one file, statements prepared once. The service holds two of
 * these on the same file: the main one, and the click writer thread's (ADR 0004).
 * Every transaction that writes starts IMMEDIATE, so the two connections queue on
 * the write lock (busy_timeout) instead of failing with SQLITE_BUSY_SNAPSHOT when a
 * deferred read turns into a write after the other one committed.
 */
export class SqliteStore implements Store {
  readonly db: SqliteDatabase
  private readonly userAgentIds = new Map<string, number>()
  private readonly sql: Statements
  /**
   * Live webhooks per event type and tenant, held in memory so that the click flush
   * decides "does anyone want this event?" without a query; refreshed on every change.
   */
  private subscribers: Record<WebhookEventType, Map<number, number[]>> = { click: new Map(), unsubscribe: new Map() }
  /** PRAGMA data_version when the subscribers were read: it moves when another connection commits. */
  private subscribersVersion = 0

  private constructor(db: SqliteDatabase) {
    this.db = db
    this.sql = prepareStatements(db)
    this.loadSubscribers()
  }

  /** Runs fn in one IMMEDIATE transaction. */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate()
  }

  /**
   * For a second connection (the click writer thread): webhooks are created and
   * deleted through the main one, so re-read the subscribers when the file changed.
   */
  refreshSubscribers(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number
    if (version === this.subscribersVersion) return
    this.subscribersVersion = version
    this.loadSubscribers()
  }

  /**
   * Opens the file, applies pending migrations, prepares statements. The service's
   * own store opens with `waitOnLock: false`: it never sleeps on the event loop
   * for the write lock; a call that finds it taken is retried asynchronously. With a
   * click writer thread it also needs less page cache: the random writes are there.
   */
  static open(path: string, options: { waitOnLock?: boolean; cacheMiB?: number } = {}): SqliteStore {
    const db = openDatabase(path, {
      busyTimeoutMs: options.waitOnLock === false ? 0 : 5000,
      cacheMiB: options.cacheMiB,
    })
    try {
      migrate(db)
    } catch (err) {
      db.close()
      throw err
    }
    return new SqliteStore(db)
  }

  async getSetting(key: string): Promise<string | null> {
    const row = this.sql.getSetting.get(key) as { value: string } | undefined
    return row?.value ?? null
  }

  async setSettingOnce(key: string, value: string): Promise<string> {
    this.sql.insertSetting.run(key, value)
    return (this.sql.getSetting.get(key) as { value: string }).value
  }

  async createTenant(publicId: string, name: string, now: number): Promise<Tenant> {
    const { lastInsertRowid } = this.sql.insertTenant.run(publicId, name, now)
    return { id: Number(lastInsertRowid), publicId, name, createdAt: now }
  }

  async getTenant(publicId: string): Promise<Tenant | null> {
    return (this.sql.getTenant.get(publicId) as Tenant | undefined) ?? null
  }

  async countTenants(): Promise<number> {
    return (this.sql.countTenants.get() as { n: number }).n
  }

  async addDomain(tenantId: number, host: string, baseUrl: string, now: number): Promise<Domain> {
    return this.write(() => {
      if (this.sql.getDomainByHost.get(host)) throw new ConflictError(`host ${host} already belongs to a tenant`)
      const { lastInsertRowid } = this.sql.insertDomain.run(tenantId, host, baseUrl, now)
      return { id: Number(lastInsertRowid), tenantId, host, baseUrl, fallbackUrl: null }
    })
  }

  async listDomains(): Promise<Domain[]> {
    return this.sql.listDomains.all() as Domain[]
  }

  async createApiKey(tenantId: number, publicId: string, name: string, keyHash: Buffer, now: number): Promise<void> {
    this.sql.insertApiKey.run(tenantId, publicId, name, keyHash, now)
  }

  async findApiKey(keyHash: Buffer): Promise<ApiKeyOwner | null> {
    return (this.sql.findApiKey.get(keyHash) as ApiKeyOwner | undefined) ?? null
  }

  async createMessage(input: NewMessage): Promise<{ message: Message; created: boolean }> {
    return this.write(() => {
      if (input.externalId !== null) {
        const existing = this.sql.getMessageByExternalId.get(input.tenantId, input.externalId) as MessageRow | undefined
        if (existing) return { message: this.toMessage(existing), created: false }
      }
      const { links, text, stripScheme, utm, expiresAt: _expiresAt, ...row } = input
      const id = Number(
        this.sql.insertMessage.run({
          ...row,
          text: text?.body ?? null,
          textSpans: text ? JSON.stringify(text.spans.map((span) => [span.start, span.end, span.link])) : null,
          stripScheme: stripScheme ? 1 : 0,
          utm: utm ? JSON.stringify(utm) : null,
        }).lastInsertRowid,
      )
      this.sql.insertMessageCounters.run(id)
      if (input.unsubscribeCode !== null) this.sql.setUnsubscribeCode.run(input.unsubscribeCode, id)
      if (input.expiresAt !== null) this.sql.setMessageExpiry.run(input.expiresAt, id)
      links.forEach((link, position) => {
        const linkId = this.sql.insertLink.run(
          link.publicId,
          id,
          input.domainId,
          position,
          link.code,
          link.url,
        ).lastInsertRowid
        this.sql.insertLinkCounters.run(linkId)
      })
      return { message: this.toMessage(this.sql.getMessageById.get(id) as MessageRow), created: true }
    })
  }

  async codeExists(domainId: number, code: string): Promise<boolean> {
    return this.sql.codeExists.get(domainId, code) !== undefined
  }

  async addRecipients(messageId: number, externalIds: string[]): Promise<AddedRecipients> {
    return this.write(() => {
      const message = this.sql.getMessageById.get(messageId) as MessageRow
      let next = message.recipient_count
      const recipients: RecipientIndex[] = new Array(externalIds.length)
      const insert = this.sql.insertRecipient
      const lookup = this.sql.recipientIndex
      const addOneByOne = (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const externalId = externalIds[i]!
          if (insert.run(messageId, next, externalId).changes === 1) recipients[i] = { externalId, index: next++ }
          else recipients[i] = { externalId, index: lookup.get(messageId, externalId) as number }
        }
      }
      // Whole chunks of new recipients in one statement each; a chunk with one already
      // there (a repeated call) goes row by row, keeping that recipient's index.
      const values: unknown[] = new Array(RECIPIENT_CHUNK * 3)
      let from = 0
      for (; from + RECIPIENT_CHUNK <= externalIds.length; from += RECIPIENT_CHUNK) {
        for (let j = 0; j < RECIPIENT_CHUNK; j++) {
          values[3 * j] = messageId
          values[3 * j + 1] = next + j
          values[3 * j + 2] = externalIds[from + j]
        }
        try {
          this.sql.insertRecipientChunk.run(values)
        } catch (error) {
          if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error
          addOneByOne(from, from + RECIPIENT_CHUNK)
          continue
        }
        for (let j = 0; j < RECIPIENT_CHUNK; j++)
          recipients[from + j] = { externalId: externalIds[from + j]!, index: next + j }
        next += RECIPIENT_CHUNK
      }
      addOneByOne(from, externalIds.length)
      this.sql.setRecipientCount.run(next, messageId)
      return { recipients, recipientCount: next }
    })
  }

  async getMessage(tenantId: number, publicId: string): Promise<Message | null> {
    const row = this.sql.getMessageByPublicId.get(publicId, tenantId) as MessageRow | undefined
    return row ? this.toMessage(row) : null
  }

  async findMessageByExternalId(tenantId: number, externalId: string): Promise<Message | null> {
    const row = this.sql.getMessageByExternalId.get(tenantId, externalId) as MessageRow | undefined
    return row ? this.toMessage(row) : null
  }

  async listMessages(
    tenantId: number,
    before: number | null,
    limit: number,
    filter?: MessageFilter,
  ): Promise<MessagePage> {
    const rows = (
      filter === undefined
        ? this.sql.listMessages.all(tenantId, before ?? Number.MAX_SAFE_INTEGER, limit + 1)
        : this.sql.listMessagesFiltered.all({
            tenantId,
            before: before ?? Number.MAX_SAFE_INTEGER,
            campaign: filter.campaign ?? null,
            kind: filter.kind ?? null,
            from: filter.from ?? 0,
            to: filter.to ?? Number.MAX_SAFE_INTEGER,
            limit: limit + 1,
          })
    ) as MessageRow[]
    const page = rows.slice(0, limit)
    return {
      messages: page.map((row) => this.toMessage(row)),
      nextBefore: rows.length > limit ? page[page.length - 1]!.id : null,
    }
  }

  async findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null> {
    const row = this.sql.findLinkTarget.get(domainId, code) as
      (Omit<LinkTarget, 'utm'> & { utm: string | null }) | undefined
    return row ? { ...row, utm: parseUtm(row.utm) } : null
  }

  async recordClicks(clicks: ClickRow[], rules?: ClickTimingRules): Promise<void> {
    try {
      this.writeClicks(clicks, rules)
    } catch (err) {
      // User agents the failed batch inserted were rolled back with it: forget their ids.
      this.userAgentIds.clear()
      throw err
    }
  }

  private readonly writeClicks = (clicks: ClickRow[], rules?: ClickTimingRules): void => {
    this.write(() => {
      const events = this.clickEvents()
      const facts = new Map<number, MessageFacts>()
      const byMessage = new Map<number, ClickCounters>()
      const byLink = new Map<number, ClickCounters>()
      // Aggregated per batch in memory: one UPSERT per distinct key, not one per click.
      const reasons = new Map<number, Map<string, number>>()
      const breakdowns = new Map<number, Map<string, number>>()
      const series = new Map<number, Map<string, number>>()
      // message → recipient → latest repeat: one UPDATE per repeating recipient per batch.
      const repeats = new Map<number, Map<number, number>>()
      const tally = (map: Map<number, ClickCounters>, id: number): ClickCounters => {
        let entry = map.get(id)
        if (!entry) map.set(id, (entry = { total: 0, unique: 0, bots: 0, previews: 0 }))
        return entry
      }
      const add = (map: Map<number, Map<string, number>>, id: number, key: string): void => {
        let counts = map.get(id)
        if (!counts) map.set(id, (counts = new Map()))
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      for (const raw of clicks) {
        let message = facts.get(raw.messageId)
        if (message === undefined) {
          message = (this.sql.messageFacts.get(raw.messageId) as MessageFacts | undefined) ?? NO_MESSAGE
          facts.set(raw.messageId, message)
        }
        // A token can only be valid for an index that was issued; anything else was
        // a lucky forgery and must not pass for a recipient.
        const recipientIdx =
          raw.recipientIdx !== null && raw.recipientIdx < message.recipients ? raw.recipientIdx : null
        const click = rules && raw.class === 'human' ? this.timingVerdict(raw, recipientIdx, message, rules) : raw
        const userAgentId = click.userAgent === null ? null : this.userAgentId(click.userAgent)
        if (this.subscribers.click.size > 0) events.click(click, recipientIdx)
        this.sql.insertClick.run(
          click.at,
          click.messageId,
          click.linkId,
          recipientIdx,
          click.class,
          click.reason,
          userAgentId,
          click.network,
          click.clickId,
        )
        const counts = tally(byMessage, click.messageId)
        const link = tally(byLink, click.linkId)
        if (click.class !== 'human') {
          if (click.class === 'preview') {
            counts.previews++
            link.previews++
          } else {
            counts.bots++
            link.bots++
          }
          add(reasons, click.messageId, click.reason ?? 'unknown')
          continue
        }
        counts.total++
        link.total++
        if (click.device !== null) add(breakdowns, click.messageId, `device\u0000${click.device}`)
        if (click.os !== null) add(breakdowns, click.messageId, `os\u0000${click.os}`)
        if (click.browser !== null) add(breakdowns, click.messageId, `browser\u0000${click.browser}`)
        add(breakdowns, click.messageId, `hour\u0000${Math.floor(click.at / HOUR_MS) % 24}`)
        add(breakdowns, click.messageId, `day\u0000${Math.max(0, Math.floor((click.at - message.createdAt) / DAY_MS))}`)
        add(series, click.messageId, String(clickSeriesBucket(click.at - message.createdAt)))
        if (recipientIdx === null) continue
        const first = this.sql.insertMessageUnique.run(click.messageId, recipientIdx, click.at).changes === 1
        if (first) {
          counts.unique++
          add(breakdowns, click.messageId, `first_click\u0000${firstClickBucket(click.at - message.createdAt)}`)
        } else {
          let latest = repeats.get(click.messageId)
          if (!latest) repeats.set(click.messageId, (latest = new Map()))
          latest.set(recipientIdx, Math.max(latest.get(recipientIdx) ?? 0, click.at))
        }
        // With one link, a recipient's first click on the message is its first on the link:
        // the second insert would only repeat the first.
        if (
          message.links === 1
            ? first
            : this.sql.insertLinkUnique.run(click.linkId, recipientIdx, click.at).changes === 1
        ) {
          link.unique++
        }
      }
      for (const [id, c] of byMessage) this.sql.bumpMessageCounters.run(c.total, c.unique, c.bots, c.previews, id)
      for (const [id, c] of byLink) this.sql.bumpLinkCounters.run(c.total, c.unique, c.bots, c.previews, id)
      for (const [id, counts] of reasons) for (const [reason, n] of counts) this.sql.addReasonClicks.run(id, reason, n)
      for (const [id, latest] of repeats) for (const [idx, at] of latest) this.sql.setLastClick.run(at, id, idx)
      for (const [id, counts] of breakdowns) {
        for (const [key, n] of counts) {
          const cut = key.indexOf('\u0000')
          this.sql.addBreakdownClicks.run(id, key.slice(0, cut), key.slice(cut + 1), n)
        }
      }
      this.addClickSeries(series)
    })
  }

  /** Adds a batch's human clicks per message and series bucket (src/click-series.ts), inside the flush. */
  private addClickSeries(series: Map<number, Map<string, number>>): void {
    for (const [id, counts] of series) for (const [bucket, n] of counts) this.sql.addSeriesClicks.run(id, bucket, n)
  }

  async messageClickSeries(messageId: number): Promise<Array<{ bucket: number; clicks: number }>> {
    return this.sql.clickSeries.all(messageId) as Array<{ bucket: number; clicks: number }>
  }

  async endDashboardSession(sessionId: string, expiresAt: number, now: number): Promise<void> {
    this.write(() => {
      this.sql.forgetEndedSessions.run(now)
      if (expiresAt > now) this.sql.endDashboardSession.run(sessionId, expiresAt)
    })
  }

  async dashboardSessionLive(sessionId: string, keyId: number): Promise<boolean> {
    return this.sql.dashboardSessionLive.get(keyId, sessionId) === 1
  }

  /**
   * too_fast, then burst, for a click its user agent left human. The recipient's own
   * delivery time is read only for clicks within tooFastMs of the message's creation or
   * of its latest delivery report: any later click is later than every recipient's.
   */
  private timingVerdict(
    click: ClickRow,
    recipientIdx: number | null,
    message: MessageFacts,
    rules: ClickTimingRules,
  ): ClickRow {
    const threshold = rules.tooFastMs
    if (threshold > 0) {
      const nearCreation = click.at < message.createdAt + threshold
      const nearDelivery = message.lastDeliveryAt !== null && click.at < message.lastDeliveryAt + threshold
      if (nearCreation || nearDelivery) {
        const deliveredAt =
          recipientIdx === null || message.lastDeliveryAt === null
            ? null
            : ((this.sql.recipientDeliveredAt.get(click.messageId, recipientIdx) as number | null | undefined) ?? null)
        // A click before the report's time counts too: carriers scan links before delivering.
        if (click.at < (deliveredAt ?? message.createdAt) + threshold)
          return { ...click, class: 'bot', reason: 'too_fast' }
      }
    }
    if (
      recipientIdx !== null &&
      click.network !== null &&
      rules.isBurst(click.messageId, recipientIdx, click.network, click.at)
    ) {
      return { ...click, class: 'bot', reason: 'burst' }
    }
    return click
  }

  private userAgentId(ua: string): number {
    let id = this.userAgentIds.get(ua)
    if (id !== undefined) return id
    const row = this.sql.findUserAgent.get(ua) as { id: number } | undefined
    id = row ? row.id : Number(this.sql.insertUserAgent.run(ua).lastInsertRowid)
    if (this.userAgentIds.size >= USER_AGENT_MEMORY) this.userAgentIds.clear()
    this.userAgentIds.set(ua, id)
    return id
  }

  async messageCounters(messageId: number): Promise<MessageCounters> {
    const links = this.sql.linkCounters.all(messageId) as Array<CounterRow & { link_id: number }>
    const row = this.sql.messageCounters.get(messageId) as MessageCounterRow | undefined
    const byReason: Record<string, number> = {}
    for (const { reason, clicks } of this.sql.reasonCounters.all(messageId) as Array<{
      reason: string
      clicks: number
    }>) {
      byReason[reason] = clicks
    }
    return {
      clicks: counters(row),
      byReason,
      breakdowns: this.sql.breakdownCounters.all(messageId) as BreakdownCount[],
      conversions: row?.conversions ?? 0,
      revenue: Object.fromEntries(
        (this.sql.revenueOf.all(messageId) as Array<{ currency: string; amount: number }>).map((r) => [
          r.currency,
          r.amount,
        ]),
      ),
      links: links.map((row) => ({ linkId: row.link_id, clicks: counters(row) })),
      deliveries: { delivered: row?.delivered ?? 0, failed: row?.failed ?? 0 },
      unsubscribes: { linkVisits: row?.unsubscribe_visits ?? 0, confirmed: row?.unsubscribes ?? 0 },
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }

  private toMessage(row: MessageRow): Message {
    const links = this.sql.linksOfMessage.all(row.id) as LinkRow[]
    return {
      id: row.id,
      publicId: row.public_id,
      tenantId: row.tenant_id,
      domainId: row.domain_id,
      externalId: row.external_id,
      kind: row.kind,
      campaign: row.campaign,
      variant: row.variant,
      recipientCount: row.recipient_count,
      createdAt: row.created_at,
      unsubscribeCode: row.unsubscribe_code ?? null,
      expiresAt: row.expires_at ?? null,
      text: parseText(row.text, row.text_spans),
      stripScheme: row.strip_scheme === 1,
      utm: parseUtm(row.utm),
      clickIdParam: row.click_id_param,
      links: links.map((link) => ({
        id: link.id,
        publicId: link.public_id,
        position: link.position,
        code: link.code,
        url: link.url,
      })),
    }
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
        const id = `evt_${newEventId()}`
        const body = JSON.stringify({
          id,
          type: 'unsubscribe',
          time: new Date(at).toISOString(),
          messageId: message.publicId,
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
        this.sql.setRecipientDelivery.run(report.status, report.at, messageId, current.idx)
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

  async createWebhook(webhook: NewWebhook): Promise<Webhook> {
    const id = Number(this.sql.insertWebhook.run({ ...webhook, events: webhook.events.join(',') }).lastInsertRowid)
    this.loadSubscribers()
    const { secret: _secret, ...rest } = webhook
    return { id, ...rest }
  }

  async listWebhooks(tenantId: number): Promise<Webhook[]> {
    return (this.sql.webhooksOfTenant.all(tenantId) as WebhookRow[]).map(toWebhook)
  }

  async getWebhook(tenantId: number, publicId: string): Promise<Webhook | null> {
    const row = this.sql.webhookOfTenant.get(tenantId, publicId) as WebhookRow | undefined
    return row ? toWebhook(row) : null
  }

  async deleteWebhook(tenantId: number, publicId: string, now: number): Promise<boolean> {
    const deleted = this.write(() => {
      const row = this.sql.webhookOfTenant.get(tenantId, publicId) as WebhookRow | undefined
      if (!row) return false
      this.sql.deleteWebhook.run(now, row.id)
      this.sql.cancelWebhookEvents.run(row.id)
      return true
    })
    if (deleted) this.loadSubscribers()
    return deleted
  }

  async dueWebhookEvents(now: number, limit: number): Promise<DueWebhookEvent[]> {
    return this.sql.dueWebhookEvents.all(now, limit) as DueWebhookEvent[]
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

  private loadSubscribers(): void {
    const next: Record<WebhookEventType, Map<number, number[]>> = { click: new Map(), unsubscribe: new Map() }
    for (const row of this.sql.liveWebhooks.all() as WebhookRow[]) {
      for (const event of row.events.split(',') as WebhookEventType[]) {
        const ids = next[event].get(row.tenant_id) ?? []
        ids.push(row.id)
        next[event].set(row.tenant_id, ids)
      }
    }
    this.subscribers = next
  }

  /**
   * Writes `click` events into the outbox for the tenants subscribed to them, inside
   * the flush transaction. What an event needs (message, link, recipient id) is looked
   * up once per batch, and only for clicks of subscribed tenants.
   */
  private clickEvents() {
    const messages = new Map<number, { tenantId: number; publicId: string }>()
    const links = new Map<number, { publicId: string; url: string }>()
    return {
      click: (click: ClickRow, recipientIdx: number | null): void => {
        let message = messages.get(click.messageId)
        if (!message) {
          message = this.sql.messageTenant.get(click.messageId) as { tenantId: number; publicId: string }
          messages.set(click.messageId, message)
        }
        const webhookIds = this.subscribers.click.get(message.tenantId)
        if (!webhookIds) return
        let link = links.get(click.linkId)
        if (!link) {
          link = this.sql.linkPublic.get(click.linkId) as { publicId: string; url: string }
          links.set(click.linkId, link)
        }
        const recipientId =
          recipientIdx === null
            ? null
            : ((this.sql.recipientExternalId.get(click.messageId, recipientIdx) as string | undefined) ?? null)
        for (const webhookId of webhookIds) {
          const id = `evt_${newEventId()}`
          const body = JSON.stringify({
            id,
            type: 'click',
            time: new Date(click.at).toISOString(),
            messageId: message.publicId,
            recipientId,
            link: { id: link.publicId, url: link.url },
            click: { class: click.class, reason: click.reason },
          })
          this.sql.insertWebhookEvent.run(id, webhookId, 'click', body, click.at, click.at)
        }
      },
    }
  }

  async findClick(
    clickId: string,
  ): Promise<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'> | null> {
    return (this.sql.findClick.get(clickId) as ClickRow | undefined) ?? null
  }

  async checkWritable(): Promise<void> {
    this.sql.writeProbe.run(String(Date.now()))
  }

  async revokeApiKey(tenantId: number, keyPublicId: string, now: number): Promise<boolean> {
    return this.sql.revokeApiKey.run(now, tenantId, keyPublicId).changes === 1
  }

  async listTenants(): Promise<Tenant[]> {
    return this.sql.listTenants.all() as Tenant[]
  }

  async pendingWebhookEvents(): Promise<number> {
    return this.sql.pendingWebhookEvents.get() as number
  }

  async backup(path: string): Promise<void> {
    await this.db.backup(path)
  }

  async allowedHosts(tenantId: number): Promise<string[]> {
    return this.sql.allowedHosts.all(tenantId) as string[]
  }

  async setAllowedHosts(tenantId: number, patterns: string[]): Promise<void> {
    this.write(() => {
      this.sql.deleteAllowedHosts.run(tenantId)
      for (const pattern of patterns) this.sql.insertAllowedHost.run(tenantId, pattern)
    })
  }
  async setDomainFallback(tenantId: number, host: string, fallbackUrl: string | null): Promise<Domain | null> {
    return (this.sql.setDomainFallback.get(fallbackUrl, tenantId, host) as Domain | undefined) ?? null
  }

  async deleteClicksBefore(before: number, limit: number): Promise<number> {
    return this.sql.deleteOldClicks.run(before, limit).changes
  }

  async pruneWebhookOutbox(before: number, limit: number): Promise<number> {
    return this.write(
      () =>
        this.sql.deleteOldWebhookAttempts.run(before, limit).changes +
        this.sql.deleteOldWebhookEvents.run(before, limit).changes,
    )
  }

  async messagesWithRecipient(tenantId: number, recipientId: string): Promise<number[]> {
    return this.sql.messagesWithRecipient.all(recipientId, tenantId) as number[]
  }

  async eraseRecipientFromMessage(messageId: number, recipientId: string, tombstone: string): Promise<void> {
    this.write(() => {
      const idx = this.sql.tombstoneRecipient.get(tombstone, messageId, recipientId) as number | undefined
      if (idx !== undefined) this.sql.scrubClicks.run(messageId, idx)
    })
  }

  async eraseRecipientTraces(tenantId: number, recipientId: string, suppressionKey: string): Promise<boolean> {
    return this.write(() => {
      const events = this.sql.eventsNamingRecipient.all(tenantId, recipientId) as number[]
      for (const id of events) {
        this.sql.deleteEventAttempts.run(id)
        this.sql.deleteEvent.run(id)
      }
      const optOuts = this.sql.rekeyOptOut.run(suppressionKey, tenantId, recipientId).changes
      return events.length + optOuts > 0
    })
  }

  async hasErasedOptOuts(tenantId: number): Promise<boolean> {
    return this.sql.hasErasedOptOuts.get(tenantId) !== undefined
  }
  async listClicks(messageId: number, after: number, limit: number): Promise<ExportedClick[]> {
    return this.sql.listClicks.all(messageId, after, limit) as ExportedClick[]
  }

  async campaignTotals(tenantId: number, campaign: string): Promise<MessageTotals> {
    return this.sql.campaignTotals.get(tenantId, campaign) as MessageTotals
  }

  async variantTotals(tenantId: number, campaign: string): Promise<Array<MessageTotals & { variant: string }>> {
    return this.sql.variantTotals.all(tenantId, campaign) as Array<MessageTotals & { variant: string }>
  }

  async kindTotals(tenantId: number, kind: MessageKind, from: number, to: number): Promise<MessageTotals> {
    return this.sql.kindTotals.get(tenantId, kind, from, to) as MessageTotals
  }

  async engagedRecipients(tenantId: number, since: number, after: string, limit: number): Promise<string[]> {
    return this.sql.engagedRecipients.all(tenantId, since, after, limit) as string[]
  }

  async messageOwner(messageId: number): Promise<{ tenantId: number; publicId: string } | null> {
    return (this.sql.messageTenant.get(messageId) as { tenantId: number; publicId: string } | undefined) ?? null
  }

  async lastHumanClick(messageId: number, recipientIdx: number): Promise<number | null> {
    return (this.sql.lastHumanClick.get(messageId, recipientIdx) as number | undefined) ?? null
  }

  async recipientIndexOf(messageId: number, recipientId: string): Promise<number | null> {
    return (this.sql.recipientIndex.get(messageId, recipientId) as number | undefined) ?? null
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

/** How long a store call keeps retrying while another connection holds the write lock. */
const BUSY_RETRY_MS = 10_000

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
}

/**
 * SQLITE_BUSY (the click writer thread, the CLI or a backup holds the write lock)
 * is retried after 1, 2, 4 … 50 ms, for up to 10 s, without blocking the event loop.
 * Safe to repeat: every call that writes more than once does it in one transaction,
 * which a busy error rolls back whole.
 */
function retryWhileBusy<T>(method: (...args: unknown[]) => Promise<T>) {
  return async function (this: SqliteStore, ...args: unknown[]): Promise<T> {
    const started = Date.now()
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        return await method.apply(this, args)
      } catch (err) {
        if (!isBusy(err) || Date.now() - started > BUSY_RETRY_MS) throw err
        await sleep(wait)
      }
    }
  }
}

for (const name of Object.getOwnPropertyNames(SqliteStore.prototype)) {
  const method = Object.getOwnPropertyDescriptor(SqliteStore.prototype, name)?.value as unknown
  if (typeof method !== 'function' || method.constructor.name !== 'AsyncFunction') continue
  Object.defineProperty(SqliteStore.prototype, name, {
    value: retryWhileBusy(method as (...args: unknown[]) => Promise<unknown>),
    writable: true,
    configurable: true,
  })
}

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    publicId: row.public_id,
    tenantId: row.tenant_id,
    url: row.url,
    events: row.events.split(',') as WebhookEventType[],
    createdAt: row.created_at,
  }
}

function parseUtm(json: string | null): UtmParams | null {
  return json === null ? null : (JSON.parse(json) as UtmParams)
}

function parseText(body: string | null, spans: string | null): MessageText | null {
  if (body === null) return null
  const triples = JSON.parse(spans ?? '[]') as Array<[number, number, number]>
  return { body, spans: triples.map(([start, end, link]): TextSpan => ({ start, end, link })) }
}
