/**
 * The storage contract. Everything outside src/db talks to `Store`; nothing else
 * writes SQL. It is split into one small interface per concept (tenants, messages,
 * clicks, roll-ups, opt-outs, webhooks, conversions, retention, lifecycle), and each
 * backend implements them in one file per concept with the same name. Methods are
 * async so that a PostgreSQL store can implement the same contract; the SQLite store
 * answers synchronously underneath.
 */
import type { ClickPosition, ClickRow, ExportedClick } from '../click.js'

export type MessageKind = 'campaign' | 'flow' | 'transactional'

export interface Tenant {
  id: number
  publicId: string
  name: string
  createdAt: number
}

export interface Domain {
  id: number
  tenantId: number
  host: string
  baseUrl: string
  /** Where expired links of this domain redirect; null: they answer 410. */
  fallbackUrl: string | null
}

export interface ApiKeyOwner {
  keyId: number
  tenantId: number
}

export interface Link {
  id: number
  publicId: string
  position: number
  code: string
  url: string
}

/** Where a URL or placeholder sits in a message text (UTF-16 offsets, end exclusive). */
export interface TextSpan {
  start: number
  end: number
  /** The position of the link that replaces the span, or UNSUBSCRIBE_SPAN for `{unsubscribe}`. */
  link: number
}

export const UNSUBSCRIBE_SPAN = -1

/** An SMS body as the sender wrote it, with its URLs located. */
export interface MessageText {
  body: string
  spans: TextSpan[]
}

/** utm_* values appended to every destination of a message at redirect time. */
export interface UtmParams {
  source?: string
  medium?: string
  campaign?: string
  term?: string
  content?: string
}

/** How a message's links are rewritten into texts and tracked on redirect. */
export interface MessageOptions {
  text: MessageText | null
  /** Short links inside texts are written without their scheme. */
  stripScheme: boolean
  utm: UtmParams | null
  /** Query parameter that carries each click's id to the landing page. */
  clickIdParam: string | null
}

export interface Message extends MessageOptions {
  id: number
  publicId: string
  tenantId: number
  domainId: number
  externalId: string | null
  kind: MessageKind
  campaign: string | null
  variant: string | null
  recipientCount: number
  createdAt: number
  links: Link[]
  /** Code of the message's unsubscribe links (`/u/{code}-{token}`); null when it has none. */
  unsubscribeCode: string | null
  /** When the message's links stop going to their destinations; null: never. */
  expiresAt: number | null
}

export interface NewMessage extends MessageOptions {
  publicId: string
  tenantId: number
  domainId: number
  externalId: string | null
  kind: MessageKind
  campaign: string | null
  variant: string | null
  createdAt: number
  links: Array<{ publicId: string; code: string; url: string }>
  unsubscribeCode: string | null
  expiresAt: number | null
}

/** A recipient of a message and its index, which its token carries. */
export interface RecipientIndex {
  externalId: string
  index: number
}

export interface AddedRecipients {
  recipients: RecipientIndex[]
  /** The message's recipients after the call. */
  recipientCount: number
}

/** What the redirect needs to know about a short code; cached in memory. */
export interface LinkTarget {
  linkId: number
  messageId: number
  /** The destination as stored (what stats show). */
  url: string
  utm: UtmParams | null
  clickIdParam: string | null
  /** When the message's links expire; null: never. */
  expiresAt: number | null
}

export interface ClickCounters {
  total: number
  unique: number
  /** Automated fetches that are not link previews. */
  bots: number
  previews: number
}

/** Human clicks of a message counted by one value of one dimension (see migration 004). */
export interface BreakdownCount {
  dimension: 'device' | 'os' | 'browser' | 'hour' | 'day' | 'first_click'
  value: string
  clicks: number
}

export interface MessageCounters {
  clicks: ClickCounters
  /** Clicks that are not human, per reason. */
  byReason: Record<string, number>
  breakdowns: BreakdownCount[]
  conversions: number
  /** Attributed conversion value per currency. */
  revenue: Record<string, number>
  links: Array<{ linkId: number; clicks: ClickCounters }>
  /** Recipients whose latest delivery report says delivered / failed. */
  deliveries: { delivered: number; failed: number }
  /** Human visits of the unsubscribe page, and recipients who confirmed on it. */
  unsubscribes: { linkVisits: number; confirmed: number }
}

export interface MessagePage {
  messages: Message[]
  /** The id to pass as `before` for the next (older) page; null on the last page. */
  nextBefore: number | null
}

export class ConflictError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConflictError'
  }
}

// ── Tenants, domains, API keys, allow-lists, settings ─────────────────────────

export interface TenantStore {
  getSetting(key: string): Promise<string | null>
  /** Stores the value unless the key already has one; returns the value that is kept. */
  setSettingOnce(key: string, value: string): Promise<string>

  createTenant(publicId: string, name: string, now: number): Promise<Tenant>
  getTenant(publicId: string): Promise<Tenant | null>
  countTenants(): Promise<number>
  /** Every tenant, oldest first. */
  listTenants(): Promise<Tenant[]>

  /** Throws ConflictError when the host already belongs to a tenant. */
  addDomain(tenantId: number, host: string, baseUrl: string, now: number): Promise<Domain>
  listDomains(): Promise<Domain[]>
  /** Sets or clears a tenant's domain's fallback URL; null when the tenant has no such host. */
  setDomainFallback(tenantId: number, host: string, fallbackUrl: string | null): Promise<Domain | null>

  createApiKey(tenantId: number, publicId: string, name: string, keyHash: Buffer, now: number): Promise<void>
  /** The tenant owning the unrevoked key with this hash. */
  findApiKey(keyHash: Buffer): Promise<ApiKeyOwner | null>
  /**
   * Marks the tenant's key revoked; it stops authenticating at once. False when the
   * tenant has no key with this public id. Revoking a revoked key keeps its first revocation time.
   */
  revokeApiKey(tenantId: number, keyPublicId: string, now: number): Promise<boolean>
  /**
   * Ends a dashboard session before it expires (sign-out): remembered until
   * `expiresAt`; ended sessions already past their expiry are forgotten in the same call.
   */
  endDashboardSession(sessionId: string, expiresAt: number, now: number): Promise<void>
  /** Whether a dashboard session still holds: not ended, and its API key not revoked. */
  dashboardSessionLive(sessionId: string, keyId: number): Promise<boolean>

  /** The tenant's allow-list of destination host patterns, sorted; empty when anything is allowed. */
  allowedHosts(tenantId: number): Promise<string[]>
  /** Replaces the tenant's allow-list of destination host patterns in one transaction (an empty list allows anything). */
  setAllowedHosts(tenantId: number, patterns: string[]): Promise<void>
}

// ── Messages, links, recipients ──────────────────────────────────────────────

export interface MessageStore {
  /**
   * Creates the message with its links and counters, or, when the tenant already has
   * a message with the same externalId, returns that one with created=false. Atomic.
   */
  createMessage(message: NewMessage): Promise<{ message: Message; created: boolean }>
  /** Whether a code is taken on a domain (used to retry the rare random collision). */
  codeExists(domainId: number, code: string): Promise<boolean>
  /**
   * Gives each recipient id an index within the message: an id already present keeps
   * its index, a new one gets the next. Returns the indexes in the order given.
   */
  addRecipients(messageId: number, externalIds: string[]): Promise<AddedRecipients>
  getMessage(tenantId: number, publicId: string): Promise<Message | null>
  findMessageByExternalId(tenantId: number, externalId: string): Promise<Message | null>
  /**
   * Newest first; `before` is the internal id the previous page ended at. A filter
   * keeps only the messages matching every field it sets.
   */
  listMessages(tenantId: number, before: number | null, limit: number, filter?: MessageFilter): Promise<MessagePage>
  findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null>
  /** The tenant and public id of a message known by its internal id. */
  messageOwner(messageId: number): Promise<{ tenantId: number; publicId: string } | null>
  /** The index of a recipient of a message, by the sender's id. */
  recipientIndexOf(messageId: number, recipientId: string): Promise<number | null>
  /** The sender's ids of a message's recipients, by index; indexes it does not have are left out. */
  recipientIdsAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, string>>
  /** Public id and destination of links, by internal id (webhook bodies). */
  linkSummaries(linkIds: number[]): Promise<Map<number, { publicId: string; url: string }>>
}

/** What the click rules need to know of a message, read once per message per batch. */
export interface ClickMessageFacts {
  tenantId: number
  publicId: string
  /** Recipients issued so far: a token claiming a higher index is a forgery. */
  recipients: number
  links: number
  createdAt: number
  /** The latest delivery report time of any of its recipients. */
  lastDeliveryAt: number | null
}

/** Clicks counted whatever the unique tables say. */
export interface ClickTally {
  total: number
  bots: number
  previews: number
}

/**
 * A recipient's first click on a message to try: inserted into the message's unique
 * table unless the recipient already has one there ("insert or ignore"). The batch
 * holds at most one per message and recipient.
 */
export interface FirstClickAttempt {
  messageId: number
  recipientIdx: number
  /** The recipient's first click in the batch: stored as its first click when inserted. */
  at: number
  /** The recipient's latest click in the batch. */
  lastAt: number
  /**
   * When inserted: the message's unique counter moves by one, the first-click delay
   * breakdown counts `delayBucket`, and, when `linkId` is set (a message with one link),
   * that link's unique counter moves by one too. When not inserted, or when the
   * recipient clicked more than once in the batch (`repeated`), `lastAt` becomes its
   * latest click (kept if later).
   */
  delayBucket: string
  linkId: number | null
  repeated: boolean
}

/** A recipient's first click on a link to try (messages with several links); when inserted, the link's unique counter moves by one. */
export interface LinkFirstClickAttempt {
  linkId: number
  recipientIdx: number
  at: number
}

/** An outbox row: a webhook event to deliver. */
export interface NewWebhookEvent {
  publicId: string
  webhookId: number
  type: WebhookEventType
  body: string
  at: number
}

/**
 * A batch of clicks as a backend stores it, worked out by the click rules
 * (src/clicks/click-batch.ts): the backend decides nothing, it inserts and adds.
 */
export interface ClickWrite {
  /** The raw rows in the order given (a click's id is the export's cursor), each judged and its recipient checked. */
  clicks: ClickRow[]
  messageTallies: Map<number, ClickTally>
  linkTallies: Map<number, ClickTally>
  /** Clicks that are not human, per message and reason. */
  reasons: Array<{ messageId: number; reason: string; clicks: number }>
  /** Human clicks per message and breakdown value (first_click comes from firstClicks). */
  breakdowns: Array<{ messageId: number } & BreakdownCount>
  /** Human clicks per message and time bucket since its creation (src/click-series.ts). */
  series: Array<{ messageId: number; bucket: number; clicks: number }>
  firstClicks: FirstClickAttempt[]
  linkFirstClicks: LinkFirstClickAttempt[]
  events: NewWebhookEvent[]
}

// ── Clicks and their counters ────────────────────────────────────────────────

export interface ClickStore {
  /**
   * What the click rules (src/clicks/click-batch.ts) need of each message of a batch.
   * Messages that do not exist are left out.
   */
  clickMessageFacts(messageIds: number[]): Promise<Map<number, ClickMessageFacts>>
  /** When each of these recipients of a message last got a delivery report, for too_fast; those without one are left out. */
  recipientsDeliveredAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, number>>
  /**
   * Stores a batch the click rules worked out, in one transaction: the raw rows, the
   * first clicks tried with "insert or ignore" and the counters moved by what was
   * really inserted (see ClickWrite), the counter deltas, breakdowns, reasons and
   * webhook events. Rejects, storing nothing, on failure.
   */
  writeClicks(write: ClickWrite): Promise<void>
  messageCounters(messageId: number): Promise<MessageCounters>
  /**
   * A message's raw clicks in the order they were stored, after the click at position
   * `after` (`{ xid: 0, id: 0 }` for the first page); at most `limit`. Never a click
   * a slower transaction could still put before one returned: on PostgreSQL, only
   * clicks of transactions older than every one still running (docs/adr/0073). Reads
   * an index on the message's clicks, never the whole table.
   */
  listClicks(messageId: number, after: ClickPosition, limit: number): Promise<ExportedClick[]>
  /** The click a landing page reported by its click id (see clickIdParam), once written. */
  findClick(clickId: string): Promise<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'> | null>
  /** When the recipient last clicked the message as a person (flushed clicks only); null if never. */
  lastHumanClick(messageId: number, recipientIdx: number): Promise<number | null>
  /** A message's human clicks per time bucket since its creation (src/click-series.ts), buckets with clicks only. */
  messageClickSeries(messageId: number): Promise<Array<{ bucket: number; clicks: number }>>
}

// ── Roll-ups over many messages ──────────────────────────────────────────────

export interface RollupStore {
  /** Sums of the counters of the tenant's messages with this campaign name, one read of the campaign index. */
  campaignTotals(tenantId: number, campaign: string): Promise<MessageTotals>
  /** The same sums per variant label of the campaign (messages without a variant left out), by label. */
  variantTotals(tenantId: number, campaign: string): Promise<Array<MessageTotals & { variant: string }>>
  /** Sums of the counters of the tenant's messages of one kind created in [from, to). */
  kindTotals(tenantId: number, kind: MessageKind, from: number, to: number): Promise<MessageTotals>
  /**
   * The tenant's recipient ids with a human click at or after `since`, each once, in id
   * order after `after`; at most `limit`. Reads the uniques tables, never raw clicks.
   */
  engagedRecipients(tenantId: number, since: number, after: string, limit: number): Promise<string[]>
}

// ── Unsubscribes, opt-outs and delivery reports ──────────────────────────────

export interface OptOutStore {
  /** Whether an unsubscribe code is taken on a domain. */
  unsubscribeCodeExists(domainId: number, code: string): Promise<boolean>
  /** The message an unsubscribe code on a domain belongs to, with what its page shows. */
  findUnsubscribeTarget(domainId: number, code: string): Promise<UnsubscribeTarget | null>
  /** Adds visits of unsubscribe pages (message id → visits) to the counters, in one transaction. */
  addUnsubscribeVisits(visits: Map<number, number>): Promise<void>
  /**
   * Opts a message's recipient out: marks it on the message (counted once), adds it to
   * the tenant's opt-outs (kept once, first time wins) and queues `unsubscribe` webhook
   * events, all in one transaction. Null when the message has no such recipient.
   */
  optOut(messageId: number, recipientIdx: number, at: number): Promise<OptOutResult | null>
  /** Which of these recipient ids the tenant has opted out. */
  optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>>
  /** The tenant's opt-outs, oldest first, after the opt-out with internal id `after`. */
  listOptOuts(tenantId: number, after: number, limit: number): Promise<OptOutPage>
  /**
   * Applies delivery reports to a message's recipients in one transaction: a report
   * replaces the stored one unless it is older, and the delivered/failed counters move
   * with it. Recipient ids the message does not have are returned, not applied.
   */
  applyDeliveryReports(messageId: number, reports: DeliveryReport[]): Promise<DeliveryReportResult>
}

// ── Webhooks and their outbox ────────────────────────────────────────────────

export interface WebhookStore {
  /** Tenant → ids of its live webhooks subscribed to this event type. */
  subscribedWebhooks(type: WebhookEventType): Promise<Map<number, number[]>>
  /** Registers a webhook and refreshes the store's in-memory view of subscriptions. */
  createWebhook(webhook: NewWebhook): Promise<Webhook>
  /** The tenant's webhooks that are not deleted, oldest first. */
  listWebhooks(tenantId: number): Promise<Webhook[]>
  getWebhook(tenantId: number, publicId: string): Promise<Webhook | null>
  /** Deletes a webhook and cancels its pending events; false when the tenant has no such webhook. */
  deleteWebhook(tenantId: number, publicId: string, now: number): Promise<boolean>
  /**
   * Pending events whose next attempt is due, oldest first, with what signing them needs;
   * none of the tenants in `skipTenants` (those with as many deliveries in flight as they may have).
   */
  dueWebhookEvents(now: number, limit: number, skipTenants?: readonly number[]): Promise<DueWebhookEvent[]>
  /** Stores an attempt's outcome and moves the event on: delivered, retried at `nextAttemptAt`, or failed. */
  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void>
  /** A webhook's latest attempts, newest first. */
  webhookAttempts(webhookId: number, limit: number): Promise<WebhookAttemptRecord[]>
  /** Webhook events not yet delivered, failed or cancelled: the outbox backlog. */
  pendingWebhookEvents(): Promise<number>
  /**
   * Deletes up to `limit` webhook attempts, and up to `limit` finished (delivered,
   * failed, cancelled) events, older than `before`; returns how many rows went.
   */
  pruneWebhookOutbox(before: number, limit: number): Promise<number>
}

// ── Conversions ──────────────────────────────────────────────────────────────

export interface ConversionStore {
  /** The tenant's conversion with this id (the sender's), as first recorded. */
  findConversion(tenantId: number, id: string): Promise<StoredConversion | null>
  /**
   * Stores an attributed conversion and adds it to the message's conversions and revenue,
   * in one transaction; when the tenant already has one with this id, that one is
   * returned with created=false and nothing changes.
   */
  recordConversion(conversion: NewConversion): Promise<{ conversion: StoredConversion; created: boolean }>
}

// ── Retention and erasure ────────────────────────────────────────────────────

export interface RetentionStore {
  /**
   * Deletes up to `limit` raw clicks older than `before`, oldest first, in one
   * transaction; returns how many. Counters and unique tables are not touched.
   */
  deleteClicksBefore(before: number, limit: number): Promise<number>
  /** The tenant's messages that have this recipient id. */
  messagesWithRecipient(tenantId: number, recipientId: string): Promise<number[]>
  /**
   * Erases a recipient id from one message: the recipient row gets `tombstone` instead,
   * its raw clicks lose user agent, network and click id. Counters stay. One transaction.
   */
  eraseRecipientFromMessage(messageId: number, recipientId: string, tombstone: string): Promise<void>
  /**
   * Removes what else names the recipient in the tenant's data, in one transaction:
   * webhook outbox events (with their attempts) whose body carries the id, and the
   * opt-out entry, which is re-keyed to `suppressionKey` (same row, same cursor).
   * Returns whether anything named the recipient.
   */
  eraseRecipientTraces(tenantId: number, recipientId: string, suppressionKey: string): Promise<boolean>
  /** Whether the tenant has opt-outs kept under a suppression key (erased recipients). */
  hasErasedOptOuts(tenantId: number): Promise<boolean>
}

/** What the message list can be narrowed to; every field optional. */
export interface MessageFilter {
  campaign?: string
  kind?: MessageKind
  /** Created at or after (ms since the epoch). */
  from?: number
  /** Created before (ms since the epoch). */
  to?: number
}

// ── The connection itself ────────────────────────────────────────────────────

export interface LifecycleStore {
  /**
   * Commits a tiny write (a settings row), so readiness sees what a click flush would:
   * a closed connection, a read-only or full disk, a lock held too long. Throws if not writable.
   */
  checkWritable(): Promise<void>
  /**
   * Writes a consistent copy of the whole database to a new file while it stays in
   * use (SQLite's online backup). Readers and the writer are not stopped.
   */
  backup(path: string): Promise<void>
  close(): Promise<void>
}

/**
 * The whole storage contract: one small interface per concept, and each backend
 * one file per concept with the same names (src/db/sqlite/tenants.ts …).
 */
export interface Store
  extends
    TenantStore,
    MessageStore,
    ClickStore,
    RollupStore,
    OptOutStore,
    WebhookStore,
    ConversionStore,
    RetentionStore,
    LifecycleStore {}

export interface NewConversion {
  tenantId: number
  /** The sender's id for the conversion (an order number). */
  id: string
  messageId: number
  recipientIdx: number | null
  clickId: string | null
  clickAt: number
  value: number
  currency: string
  at: number
}

export interface StoredConversion {
  id: string
  messagePublicId: string
  recipientId: string | null
  clickId: string | null
  clickAt: number
  value: number
  currency: string
  at: number
}

/** Counters summed over a set of messages (roll-ups and A/B variants). */
export interface MessageTotals {
  messages: number
  /** The kind all the messages share; null when they differ or there are none. */
  kind: MessageKind | null
  recipients: number
  /** Delivered recipients of the messages that have delivery reports. */
  delivered: number
  /** Messages with at least one delivery report. */
  reportedMessages: number
  /** Each message's CTR denominator summed: delivered where reports came, recipients elsewhere. */
  reach: number
  uniqueClickers: number
  unsubscribes: number
}

export interface UnsubscribeTarget {
  messageId: number
  tenantId: number
  tenantName: string
  recipientCount: number
}

export interface OptOutResult {
  recipientId: string
  /** False when this recipient had already confirmed on this message's page. */
  confirmedNow: boolean
}

export interface OptOut {
  recipientId: string
  messagePublicId: string
  at: number
}

export interface OptOutPage {
  optOuts: OptOut[]
  /** Internal id of the last opt-out returned (or `after` when none was). */
  last: number
  hasMore: boolean
}

export type DeliveryStatus = 'delivered' | 'failed'

export interface DeliveryReport {
  recipientId: string
  status: DeliveryStatus
  at: number
}

export interface DeliveryReportResult {
  applied: number
  /** Reports older than the one already stored for the recipient: kept out. */
  outdated: number
  unknownRecipients: string[]
}

export type WebhookEventType = 'click' | 'unsubscribe'

export interface NewWebhook {
  publicId: string
  tenantId: number
  url: string
  events: WebhookEventType[]
  secret: string
  createdAt: number
}

export interface Webhook {
  id: number
  publicId: string
  tenantId: number
  url: string
  events: WebhookEventType[]
  createdAt: number
}

export interface DueWebhookEvent {
  id: number
  publicId: string
  webhookId: number
  tenantId: number
  url: string
  secret: string
  body: string
  attempts: number
  createdAt: number
}

export type WebhookOutcome = 'delivered' | 'retrying' | 'failed'

export interface WebhookAttempt {
  eventId: number
  webhookId: number
  at: number
  statusCode: number | null
  error: string | null
  outcome: WebhookOutcome
  /** When to try again; only for `retrying`. */
  nextAttemptAt: number | null
}

export interface WebhookAttemptRecord {
  eventPublicId: string
  type: WebhookEventType
  attempt: number
  at: number
  statusCode: number | null
  error: string | null
  outcome: WebhookOutcome
}
