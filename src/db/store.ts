/**
 * The storage contract. Everything outside src/db talks to `Store`; nothing else
 * writes SQL. It is split into one small interface per concept (tenants, messages,
 * clicks, roll-ups, opt-outs, webhooks, conversions, retention, lifecycle), and each
 * backend implements them in one file per concept with the same name. Methods are
 * async so that a PostgreSQL store can implement the same contract; the SQLite store
 * answers synchronously underneath.
 */
import type { ClickClass, ClickPosition, ClickRow, ExportedClick } from '../click.js'

export type MessageKind = 'campaign' | 'flow' | 'transactional'

export interface Tenant {
  id: number
  publicId: string
  name: string
  createdAt: number
  /** The language of the tenant's recipients' pages when a message sets none (a canonical tag); null: not set. */
  language: string | null
}

/** A tenant's own title and text of the unsubscribe page in one language. */
export interface PageText {
  language: string
  title: string
  text: string
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
  /** The language of the message's pages (a canonical tag); null: the tenant's, else the phone's. */
  language: string | null
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
  language: string | null
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

/** What createMessage answers: the message, whether this call made it, and the recipients it added. */
export interface CreatedMessage {
  /** With the recipients added so far counted in recipientCount. */
  message: Message
  created: boolean
  /** The indexes of the ids the call passed, in their order; empty when created is false. */
  recipients: RecipientIndex[]
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
  /** Judged clicks not settled yet (docs/adr/0084), counted in none of the other figures. */
  pendingClicks: number
  /** Clicks that are not human, per reason. */
  byReason: Record<string, number>
  breakdowns: BreakdownCount[]
  conversions: number
  /** Attributed conversion value per currency. */
  revenue: Record<string, number>
  links: Array<{ linkId: number; clicks: ClickCounters }>
  /** Recipients whose latest delivery report says delivered / failed. */
  deliveries: { delivered: number; failed: number }
  /**
   * Human visits of the unsubscribe page, and recipients who opted out of this message
   * by each channel (each recipient counted once per message, under its first channel).
   */
  unsubscribes: { linkVisits: number; bySource: UnsubscribeCounts }
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

/**
 * A short code a new message's links were given is taken on the domain already (by
 * another message's link, or by another link of the same message): nothing was stored.
 * Codes are random, so the caller draws new ones and tries again.
 */
export class CodeTaken extends Error {
  constructor() {
    super('a short code of the new message is taken on its domain')
    this.name = 'CodeTaken'
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
  /** A domain by internal id; null when there is none. */
  getDomain(id: number): Promise<Domain | null>
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

  /** Sets (or, with null, clears) the tenant's default page language. */
  setTenantLanguage(tenantId: number, language: string | null): Promise<void>
  /** The tenant's own unsubscribe page wordings, by language. */
  pageTexts(tenantId: number): Promise<PageText[]>
  /** Sets the tenant's wording for one language, or with null removes it. */
  setPageText(tenantId: number, language: string, text: { title: string; text: string } | null): Promise<void>
}

// ── Messages, links, recipients ──────────────────────────────────────────────

export interface MessageStore {
  /**
   * Creates the message with its links and counters, or, when the tenant already has
   * a message with the same externalId, returns that one with created=false. Atomic.
   * A created message also gets `recipientIds` as addRecipients would give them
   * (indexes from 0, a repeated id once), in the same transaction: a
   * single-recipient message is one write. A message not created gets none of them.
   * Rejects with CodeTaken, storing nothing, when a link's code is taken on the domain:
   * codes are not looked up beforehand, the unique key checks them as they are inserted.
   */
  createMessage(message: NewMessage, recipientIds?: string[]): Promise<CreatedMessage>
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

/** A recipient's latest delivery report's time. */
export interface DeliveryTime {
  at: number
  /** The report came without the carrier's time: `at` is its arrival, and delivery was at or before it. */
  arrival: boolean
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
  /**
   * The same on every attempt at one batch. A backend whose commit's reply can be lost
   * (PostgreSQL, over the network) keeps it in the batch's transaction and skips a
   * batch it already holds, so a retry never counts twice; SQLite, in the process,
   * has no such loss and ignores it.
   */
  batchId?: string
  /**
   * Clicks the sweep rule judges later (docs/adr/0084), by their place in `clicks`: each
   * is stored as a raw row and a `sweep_fetches` row, and moves its message's pending
   * counter instead of any other; the rest of the write leaves them out.
   */
  pending: Array<{ index: number; identity: string }>
}

/** A judged click whose neighbourhood is complete: what the settle pass needs of it. */
export interface DueFetch {
  /** The raw click's internal id. */
  id: number
  at: number
  messageId: number
  linkId: number
  recipientIdx: number
  identity: string
  userAgent: string | null
  network: string | null
  clickId: string | null
}

/**
 * A recipient's first click on a message found, at settle time, earlier than the one
 * stored (`storedAt`): the stored one is replaced when it is still `storedAt`, and the
 * first-click delay moves from `storedBucket` to `delayBucket`.
 */
export interface EarlierFirstClick {
  messageId: number
  recipientIdx: number
  storedAt: number
  storedBucket: string
  at: number
  lastAt: number
  delayBucket: string
}

/**
 * What a settle pass stores, in one transaction (docs/adr/0084): the fetches it judged
 * become settled, the raw rows of those judged not human take their verdict, the pending counters go
 * down by the fetches settled, and `write` is applied as a click batch's counts are,
 * without inserting raw rows (`write.clicks` and `write.pending` are empty). Link first
 * clicks are inserted or moved to the earlier time.
 */
export interface ClickSettlement {
  settled: number[]
  /** Raw click id → its verdict, for settled clicks that are not human. */
  verdicts: Array<{ id: number; class: ClickClass; reason: string }>
  write: ClickWrite
  earlierFirstClicks: EarlierFirstClick[]
  /** Settled fetches made before this are no neighbour of any fetch still due: deleted. */
  forgetBefore: number
}

// ── Clicks and their counters ────────────────────────────────────────────────

export interface ClickStore {
  /**
   * What the click rules (src/clicks/click-batch.ts) need of each message of a batch.
   * Messages that do not exist are left out.
   */
  clickMessageFacts(messageIds: number[]): Promise<Map<number, ClickMessageFacts>>
  /** When each of these recipients of a message last got a delivery report, for too_fast; those without one are left out. */
  recipientsDeliveredAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, DeliveryTime>>
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
  /**
   * Unsettled judged clicks made before `before`, oldest first, at most `limit`
   * (docs/adr/0084); an indexed read however many clicks are stored.
   */
  dueSweepFetches(before: number, limit: number): Promise<DueFetch[]>
  /**
   * The judged fetches (settled or not) of these identities of a message that verdicts
   * on fetches made in [window.first, window.last] look at: each identity's fetches in
   * that range, and the `window.nearest` closest before and after it within
   * `window.spanMs`. An indexed read of a few hundred rows per identity, however many
   * fetches a scanner made.
   */
  sweepNeighbours(
    messageId: number,
    identities: string[],
    window: SweepWindow,
  ): Promise<Array<{ identity: string; recipientIdx: number; at: number }>>
  /** The stored first click time of these recipients of a message; those without one are left out. */
  firstClickTimes(messageId: number, recipientIdxs: number[]): Promise<Map<number, number>>
  /**
   * Stores a settle pass in one transaction. False, storing nothing, when one of its
   * fetches was settled meanwhile (another pass): the caller reads them again.
   */
  settleClicks(settlement: ClickSettlement): Promise<boolean>
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
   * Stores opt-outs in the order given, in one transaction. For each: the recipient is
   * put on the tenant's list unless already there (`listed`; a change row joins the
   * feed), and, when it names a message, marked on it unless already marked there
   * (`counted`: the message's counter for the source moves by one). Its webhook events
   * are queued when either happened, and only then. Decides nothing else.
   */
  recordOptOuts(writes: OptOutWrite[]): Promise<OptOutOutcome[]>
  /**
   * Takes a recipient off the tenant's list: removes it, adds a `resubscribe` change to
   * the feed and queues the events, in one transaction. False (nothing written) when the
   * recipient is not on the list. Messages' counts stay.
   */
  resubscribe(write: ResubscribeWrite): Promise<boolean>
  /**
   * For each lookup, the tenant's newest message created at or before `before` that has
   * the recipient, with its index there; null when there is none.
   */
  latestMessagesTo(
    tenantId: number,
    lookups: Array<{ recipientId: string; before: number }>,
  ): Promise<Array<AnsweredMessage | null>>
  /** Which of these recipient ids are on the tenant's opt-out list now. */
  optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>>
  /**
   * optedOutRecipients, and whether the tenant has opt-outs kept under a suppression
   * key (hasErasedOptOuts), in one lookup: what storing a call's first recipients asks.
   */
  optOutsAmong(tenantId: number, recipientIds: string[]): Promise<{ optedOut: Set<string>; erased: boolean }>
  /** The changes of the tenant's opt-out list, oldest first, after the change with internal id `after`. */
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
  /**
   * Takes up to `limit` of the events dueWebhookEvents would return, for this caller
   * alone: their next attempt moves to `leaseUntil`, so no other instance takes them
   * meanwhile, and an instance that dies with them in flight leaves them due again then.
   * Two callers at once never get the same event.
   */
  claimWebhookEvents(
    now: number,
    leaseUntil: number,
    limit: number,
    skipTenants?: readonly number[],
  ): Promise<DueWebhookEvent[]>
  /** Gives back claimed events that were not attempted: due again at `now`. Events claimed since by another lease are left alone. */
  releaseWebhookEvents(eventIds: readonly number[], leaseUntil: number, now: number): Promise<void>
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
   * opt-out entry and its changes in the feed, re-keyed to `suppressionKey` (same rows,
   * same cursors).
   * Returns whether anything named the recipient.
   */
  eraseRecipientTraces(tenantId: number, recipientId: string, suppressionKey: string): Promise<boolean>
  /** Whether the tenant has opt-outs kept under a suppression key (erased recipients). */
  hasErasedOptOuts(tenantId: number): Promise<boolean>
  /**
   * Scrubs the raw clicks of one recipient of a message (user agent, network, click
   * id), as eraseRecipientFromMessage does: for clicks another instance held in its
   * queue while the recipient was erased and wrote afterwards.
   */
  scrubRecipientClicks(messageId: number, recipientIdx: number): Promise<void>
}

// ── Changes that instances apply to their in-memory caches ───────────────────

/**
 * What changed, for the caches of every instance (docs/adr/0081). Each is written in the
 * transaction of the change itself by the store method that makes it:
 * - `domain`: a domain was added or its fallback URL set (key: the domain's id);
 * - `link`: a short link was created (key: `domainId/code`), so a cached "unknown code" goes;
 * - `allowed_hosts`: a tenant's destination allow-list was replaced (key: the tenant's id);
 * - `recipient`: a recipient was erased from a message (key: `messageId/recipientIdx`);
 * - `webhooks`: a tenant's webhooks were registered or deleted (key: the tenant's id).
 */
export type CacheChangeKind = 'domain' | 'tenant' | 'link' | 'allowed_hosts' | 'recipient' | 'webhooks'

export interface CacheChange {
  kind: CacheChangeKind
  key: string
}

/** What a watch of the change feed calls. */
export interface CacheChangeWatcher {
  /** Changes committed since the last call, in commit order. A change may come more than once. */
  changes(changes: CacheChange[]): void
  /** The watch lost track for a while (a reconnect to the database): anything cached may be stale. */
  lost(): void
}

export interface CacheChangeWatch {
  /** Settles once the watch follows the feed (PostgreSQL: its first attempt to listen has ended). */
  started: Promise<void>
  close(): Promise<void>
}

export interface CacheChangeStore {
  /** A position after every change committed so far: where a new follower starts. */
  cacheChangeHead(): Promise<string>
  /**
   * Changes committed after `position` (from cacheChangeHead or an earlier call), in
   * commit order, at most `limit`, with the position after them. A change committed
   * later never sorts before one already returned, so a follower never skips one.
   */
  cacheChangesAfter(position: string, limit: number): Promise<{ changes: CacheChange[]; position: string }>
  /**
   * Follows the feed from now on and hands what other connections commit to `watcher`,
   * within a second: SQLite polls the file cheaply, PostgreSQL listens for notifications
   * and polls as a backstop. The store's own caches (webhook subscriptions) follow too.
   */
  watchCacheChanges(watcher: CacheChangeWatcher): CacheChangeWatch
  /** Deletes up to `limit` changes recorded before `before`; returns how many went. */
  pruneCacheChanges(before: number, limit: number): Promise<number>
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
  /**
   * Runs `job` unless another instance on the same database is running the job of
   * this name; resolves false when it was skipped. PostgreSQL holds an advisory lock
   * meanwhile (released if the instance dies); SQLite has one writer and always runs it.
   */
  runExclusive(name: string, job: () => Promise<void>): Promise<boolean>
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
    CacheChangeStore,
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
  /** Recipients who opted out of the messages, by channel. */
  unsubscribes: UnsubscribeCounts
}

export interface UnsubscribeTarget {
  messageId: number
  messagePublicId: string
  tenantId: number
  tenantName: string
  recipientCount: number
  /** The message's page language and the tenant's default (canonical tags), null where unset. */
  messageLanguage: string | null
  tenantLanguage: string | null
}

/** How an opt-out reached the sender: its unsubscribe page, or a reply, an import or support staff. */
export type OptOutSource = 'link' | 'reply' | 'import' | 'support'
export const OPT_OUT_SOURCES: readonly OptOutSource[] = ['link', 'reply', 'import', 'support']

export type UnsubscribeCounts = Record<OptOutSource, number>

/** A message an opt-out answers, with the recipient's index in it. */
export interface AnsweredMessage {
  messageId: number
  publicId: string
  recipientIdx: number
}

/** An opt-out as the opt-out rules (src/unsubscribe/record-optouts.ts) worked it out. */
export interface OptOutWrite {
  tenantId: number
  recipientId: string
  source: OptOutSource
  at: number
  /** The message it answers; null when none. */
  message: AnsweredMessage | null
  /** Queued only when the opt-out changed anything (see OptOutStore.recordOptOuts). */
  events: NewWebhookEvent[]
}

export interface OptOutOutcome {
  /** Newly put on the tenant's list. */
  listed: boolean
  /** Newly counted on the message it answers. */
  counted: boolean
}

export interface ResubscribeWrite {
  tenantId: number
  recipientId: string
  at: number
  events: NewWebhookEvent[]
}

/** One change of a tenant's opt-out list, as the feed shows it. */
export interface OptOutChange {
  recipientId: string
  change: 'optout' | 'resubscribe'
  /** Null for a re-subscribe. */
  source: OptOutSource | null
  messagePublicId: string | null
  at: number
}

export interface OptOutPage {
  optOuts: OptOutChange[]
  /** Internal id of the last change returned (or `after` when none was). */
  last: number
  hasMore: boolean
}

export type DeliveryStatus = 'delivered' | 'failed'

/** Where a settle pass's verdicts look (Store.sweepNeighbours). */
export interface SweepWindow {
  first: number
  last: number
  spanMs: number
  nearest: number
}

export interface DeliveryReport {
  recipientId: string
  status: DeliveryStatus
  at: number
  /** True when the report came without the carrier's time and `at` is when it arrived. */
  arrival?: boolean
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
