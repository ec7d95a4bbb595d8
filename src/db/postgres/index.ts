import type pg from 'pg'
import type { ClickPosition, ClickRow, ExportedClick } from '../../click.js'
import type {
  CreatedMessage,
  ClickSettlement,
  DeliveryTime,
  DueFetch,
  AddedRecipients,
  ApiKeyOwner,
  ClickMessageFacts,
  ClickWrite,
  DeliveryReport,
  DeliveryReportResult,
  Domain,
  DueWebhookEvent,
  LinkTarget,
  Message,
  MessageCounters,
  MessageFilter,
  MessageKind,
  MessagePage,
  MessageTotals,
  NewConversion,
  NewMessage,
  NewWebhook,
  OptOutPage,
  AnsweredMessage,
  OptOutOutcome,
  OptOutWrite,
  PageText,
  ResubscribeWrite,
  Store,
  StoredConversion,
  Tenant,
  UnsubscribeTarget,
  Webhook,
  WebhookAttempt,
  WebhookAttemptRecord,
  WebhookEventType,
  CacheChange,
  CacheChangeWatch,
  CacheChangeWatcher,
  SweepWindow,
} from '../store.js'
import { PostgresCacheChanges } from './cache-changes.js'
import { CLICK_BATCH_KEPT_MS, pruneClickBatches } from './click-batches.js'
import { settleClicks, writeClicks } from './click-write.js'
import { PostgresClicks } from './clicks.js'
import { PostgresConversions } from './conversions.js'
import { PostgresMessages } from './messages.js'
import { migratePostgres } from './migrate.js'
import { PostgresOptOuts } from './optouts.js'
import { createPool, PostgresUnavailableError } from './pool.js'
import { PostgresRetention } from './retention.js'
import { PostgresRollups } from './rollups.js'
import { PostgresTenants } from './tenants.js'
import { PostgresWebhooks } from './webhooks.js'

export { PostgresUnavailableError } from './pool.js'

/** Batches an instance writes between two prunes of old batch ids (click-batches.ts). */
const PRUNE_BATCH_IDS_EVERY = 1_000

/** A Store method the PostgreSQL backend does not have (yet, or by design). */
export class NotSupportedOnPostgresError extends Error {
  constructor(method: string, instead: string) {
    super(`${method} is not available on PostgreSQL: ${instead}`)
    this.name = 'NotSupportedOnPostgresError'
  }
}

/**
 * Opens the PostgreSQL store at a postgres:// URL: connects (failing with a
 * PostgresUnavailableError that names the server when it cannot), then applies
 * pending migrations under an advisory lock (see migrate.ts).
 */
export async function openPostgresStore(
  url: string,
  options: { maxConnections?: number } = {},
): Promise<PostgresStore> {
  const { pool } = await connectAndMigrate(url, options.maxConnections)
  return new PostgresStore(pool)
}

/**
 * A PostgreSQL store on a database another store of this process has opened and
 * migrated (the click writer thread's): neither connects nor migrates here, so it is
 * made at once even while the server is away; its statements fail until it is back.
 */
export function connectPostgresStore(url: string, options: { maxConnections?: number } = {}): PostgresStore {
  return new PostgresStore(createPool(url, { max: options.maxConnections }))
}

/**
 * `smslinks migrate` on PostgreSQL: connects, applies pending migrations as a start
 * would, and closes. Returns the versions applied and the schema's version now.
 */
export async function migratePostgresAt(url: string): Promise<{ applied: number[]; version: number }> {
  const { pool, applied } = await connectAndMigrate(url, 1)
  try {
    const { rows } = await pool.query<{ version: number }>('SELECT max(version) AS version FROM schema_migrations')
    return { applied, version: rows[0]?.version ?? 0 }
  } finally {
    await pool.end()
  }
}

async function connectAndMigrate(url: string, max?: number): Promise<{ pool: pg.Pool; applied: number[] }> {
  const pool = createPool(url, { max })
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    await pool.end().catch(() => undefined)
    throw new PostgresUnavailableError(url, err)
  }
  try {
    return { pool, applied: await migratePostgres(pool) }
  } catch (err) {
    await pool.end().catch(() => undefined)
    throw err
  }
}

/**
 * The PostgreSQL store: one pool, one object per concept (the files beside this
 * one), each method handed to the concept that owns it. Every instance of the
 * service may hold one on the same database; nothing here is cached in memory.
 */
export class PostgresStore implements Store {
  private readonly tenants: PostgresTenants
  private readonly messages: PostgresMessages
  private readonly clicks: PostgresClicks
  private readonly rollups: PostgresRollups
  private readonly optouts: PostgresOptOuts
  private readonly webhooks: PostgresWebhooks
  private readonly conversions: PostgresConversions
  private readonly retention: PostgresRetention
  private readonly cacheChanges: PostgresCacheChanges
  /** Batches written with an id since this store last forgot old ids. */
  private batchesSincePrune = 0

  constructor(readonly pool: pg.Pool) {
    this.tenants = new PostgresTenants(pool)
    this.messages = new PostgresMessages(pool)
    this.clicks = new PostgresClicks(pool)
    this.rollups = new PostgresRollups(pool)
    this.optouts = new PostgresOptOuts(pool)
    this.webhooks = new PostgresWebhooks(pool)
    this.conversions = new PostgresConversions(pool)
    this.retention = new PostgresRetention(pool)
    this.cacheChanges = new PostgresCacheChanges(pool)
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end()
  }

  async writeClicks(write: ClickWrite): Promise<void> {
    await writeClicks(this.pool, write)
    if (write.batchId !== undefined && ++this.batchesSincePrune >= PRUNE_BATCH_IDS_EVERY) {
      this.batchesSincePrune = 0
      // Old ids only take room; a prune that fails is done by a later one.
      await pruneClickBatches(this.pool, Date.now() - CLICK_BATCH_KEPT_MS).catch(() => undefined)
    }
  }

  clickMessageFacts(messageIds: number[]): Promise<Map<number, ClickMessageFacts>> {
    return this.clicks.clickMessageFacts(messageIds)
  }

  recipientsDeliveredAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, DeliveryTime>> {
    return this.clicks.recipientsDeliveredAt(messageId, recipientIdxs)
  }

  dueSweepFetches(before: number, limit: number): Promise<DueFetch[]> {
    return this.clicks.dueSweepFetches(before, limit)
  }

  sweepNeighbours(
    messageId: number,
    identities: string[],
    window: SweepWindow,
  ): Promise<Array<{ identity: string; recipientIdx: number; at: number }>> {
    return this.clicks.sweepNeighbours(messageId, identities, window)
  }

  firstClickTimes(messageId: number, recipientIdxs: number[]): Promise<Map<number, number>> {
    return this.clicks.firstClickTimes(messageId, recipientIdxs)
  }

  settleClicks(settlement: ClickSettlement): Promise<boolean> {
    return settleClicks(this.pool, settlement)
  }

  messageClickSeries(messageId: number): Promise<Array<{ bucket: number; clicks: number }>> {
    return this.clicks.messageClickSeries(messageId)
  }

  recipientIdsAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, string>> {
    return this.messages.recipientIdsAt(messageId, recipientIdxs)
  }

  linkSummaries(linkIds: number[]): Promise<Map<number, { publicId: string; url: string }>> {
    return this.messages.linkSummaries(linkIds)
  }

  subscribedWebhooks(type: WebhookEventType): Promise<Map<number, number[]>> {
    return this.webhooks.subscribedWebhooks(type)
  }

  endDashboardSession(sessionId: string, expiresAt: number, now: number): Promise<void> {
    return this.tenants.endDashboardSession(sessionId, expiresAt, now)
  }

  dashboardSessionLive(sessionId: string, keyId: number): Promise<boolean> {
    return this.tenants.dashboardSessionLive(sessionId, keyId)
  }

  async backup(_path: string): Promise<void> {
    throw new NotSupportedOnPostgresError('backup', 'back up the database with pg_dump')
  }

  getSetting(key: string): Promise<string | null> {
    return this.tenants.getSetting(key)
  }

  setSettingOnce(key: string, value: string): Promise<string> {
    return this.tenants.setSettingOnce(key, value)
  }

  createTenant(publicId: string, name: string, now: number): Promise<Tenant> {
    return this.tenants.createTenant(publicId, name, now)
  }

  getTenant(publicId: string): Promise<Tenant | null> {
    return this.tenants.getTenant(publicId)
  }

  countTenants(): Promise<number> {
    return this.tenants.countTenants()
  }

  addDomain(tenantId: number, host: string, baseUrl: string, now: number): Promise<Domain> {
    return this.tenants.addDomain(tenantId, host, baseUrl, now)
  }

  listDomains(): Promise<Domain[]> {
    return this.tenants.listDomains()
  }

  createApiKey(tenantId: number, publicId: string, name: string, keyHash: Buffer, now: number): Promise<void> {
    return this.tenants.createApiKey(tenantId, publicId, name, keyHash, now)
  }

  findApiKey(keyHash: Buffer): Promise<ApiKeyOwner | null> {
    return this.tenants.findApiKey(keyHash)
  }

  createMessage(message: NewMessage, recipientIds?: string[]): Promise<CreatedMessage> {
    return this.messages.createMessage(message, recipientIds)
  }

  addRecipients(messageId: number, externalIds: string[]): Promise<AddedRecipients> {
    return this.messages.addRecipients(messageId, externalIds)
  }

  getMessage(tenantId: number, publicId: string): Promise<Message | null> {
    return this.messages.getMessage(tenantId, publicId)
  }

  findMessageByExternalId(tenantId: number, externalId: string): Promise<Message | null> {
    return this.messages.findMessageByExternalId(tenantId, externalId)
  }

  listMessages(tenantId: number, before: number | null, limit: number, filter?: MessageFilter): Promise<MessagePage> {
    return this.messages.listMessages(tenantId, before, limit, filter)
  }

  findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null> {
    return this.messages.findLinkTarget(domainId, code)
  }

  messageCounters(messageId: number): Promise<MessageCounters> {
    return this.clicks.messageCounters(messageId)
  }

  unsubscribeCodeExists(domainId: number, code: string): Promise<boolean> {
    return this.messages.unsubscribeCodeExists(domainId, code)
  }

  findUnsubscribeTarget(domainId: number, code: string): Promise<UnsubscribeTarget | null> {
    return this.messages.findUnsubscribeTarget(domainId, code)
  }

  addUnsubscribeVisits(visits: Map<number, number>): Promise<void> {
    return this.optouts.addUnsubscribeVisits(visits)
  }

  recordOptOuts(writes: OptOutWrite[]): Promise<OptOutOutcome[]> {
    return this.optouts.recordOptOuts(writes)
  }

  resubscribe(write: ResubscribeWrite): Promise<boolean> {
    return this.optouts.resubscribe(write)
  }

  latestMessagesTo(
    tenantId: number,
    lookups: Array<{ recipientId: string; before: number }>,
  ): Promise<Array<AnsweredMessage | null>> {
    return this.optouts.latestMessagesTo(tenantId, lookups)
  }

  setTenantLanguage(tenantId: number, language: string | null): Promise<void> {
    return this.tenants.setTenantLanguage(tenantId, language)
  }

  pageTexts(tenantId: number): Promise<PageText[]> {
    return this.tenants.pageTexts(tenantId)
  }

  setPageText(tenantId: number, language: string, text: { title: string; text: string } | null): Promise<void> {
    return this.tenants.setPageText(tenantId, language, text)
  }

  optedOutRecipients(tenantId: number, recipientIds: string[]): Promise<Set<string>> {
    return this.optouts.optedOutRecipients(tenantId, recipientIds)
  }

  optOutsAmong(tenantId: number, recipientIds: string[]): Promise<{ optedOut: Set<string>; erased: boolean }> {
    return this.optouts.optOutsAmong(tenantId, recipientIds)
  }

  listOptOuts(tenantId: number, after: number, limit: number): Promise<OptOutPage> {
    return this.optouts.listOptOuts(tenantId, after, limit)
  }

  applyDeliveryReports(messageId: number, reports: DeliveryReport[]): Promise<DeliveryReportResult> {
    return this.optouts.applyDeliveryReports(messageId, reports)
  }

  createWebhook(webhook: NewWebhook): Promise<Webhook> {
    return this.webhooks.createWebhook(webhook)
  }

  listWebhooks(tenantId: number): Promise<Webhook[]> {
    return this.webhooks.listWebhooks(tenantId)
  }

  getWebhook(tenantId: number, publicId: string): Promise<Webhook | null> {
    return this.webhooks.getWebhook(tenantId, publicId)
  }

  deleteWebhook(tenantId: number, publicId: string, now: number): Promise<boolean> {
    return this.webhooks.deleteWebhook(tenantId, publicId, now)
  }

  dueWebhookEvents(now: number, limit: number, skipTenants?: readonly number[]): Promise<DueWebhookEvent[]> {
    return this.webhooks.dueWebhookEvents(now, limit, skipTenants)
  }

  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void> {
    return this.webhooks.recordWebhookAttempt(attempt)
  }

  webhookAttempts(webhookId: number, limit: number): Promise<WebhookAttemptRecord[]> {
    return this.webhooks.webhookAttempts(webhookId, limit)
  }

  findClick(clickId: string): Promise<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'> | null> {
    return this.clicks.findClick(clickId)
  }

  pendingWebhookEvents(): Promise<number> {
    return this.webhooks.pendingWebhookEvents()
  }

  checkWritable(): Promise<void> {
    return this.tenants.checkWritable()
  }

  revokeApiKey(tenantId: number, keyPublicId: string, now: number): Promise<boolean> {
    return this.tenants.revokeApiKey(tenantId, keyPublicId, now)
  }

  listTenants(): Promise<Tenant[]> {
    return this.tenants.listTenants()
  }

  allowedHosts(tenantId: number): Promise<string[]> {
    return this.tenants.allowedHosts(tenantId)
  }

  setAllowedHosts(tenantId: number, patterns: string[]): Promise<void> {
    return this.tenants.setAllowedHosts(tenantId, patterns)
  }

  setDomainFallback(tenantId: number, host: string, fallbackUrl: string | null): Promise<Domain | null> {
    return this.tenants.setDomainFallback(tenantId, host, fallbackUrl)
  }

  deleteClicksBefore(before: number, limit: number): Promise<number> {
    return this.retention.deleteClicksBefore(before, limit)
  }

  pruneWebhookOutbox(before: number, limit: number): Promise<number> {
    return this.retention.pruneWebhookOutbox(before, limit)
  }

  eraseRecipientFromMessage(messageId: number, recipientId: string, tombstone: string): Promise<void> {
    return this.retention.eraseRecipientFromMessage(messageId, recipientId, tombstone)
  }

  messagesWithRecipient(tenantId: number, recipientId: string): Promise<number[]> {
    return this.retention.messagesWithRecipient(tenantId, recipientId)
  }

  eraseRecipientTraces(tenantId: number, recipientId: string, suppressionKey: string): Promise<boolean> {
    return this.retention.eraseRecipientTraces(tenantId, recipientId, suppressionKey)
  }

  hasErasedOptOuts(tenantId: number): Promise<boolean> {
    return this.optouts.hasErasedOptOuts(tenantId)
  }

  listClicks(messageId: number, after: ClickPosition, limit: number): Promise<ExportedClick[]> {
    return this.clicks.listClicks(messageId, after, limit)
  }

  campaignTotals(tenantId: number, campaign: string): Promise<MessageTotals> {
    return this.rollups.campaignTotals(tenantId, campaign)
  }

  variantTotals(tenantId: number, campaign: string): Promise<Array<MessageTotals & { variant: string }>> {
    return this.rollups.variantTotals(tenantId, campaign)
  }

  kindTotals(tenantId: number, kind: MessageKind, from: number, to: number): Promise<MessageTotals> {
    return this.rollups.kindTotals(tenantId, kind, from, to)
  }

  messageOwner(messageId: number): Promise<{ tenantId: number; publicId: string } | null> {
    return this.messages.messageOwner(messageId)
  }

  lastHumanClick(messageId: number, recipientIdx: number): Promise<number | null> {
    return this.clicks.lastHumanClick(messageId, recipientIdx)
  }

  recipientIndexOf(messageId: number, recipientId: string): Promise<number | null> {
    return this.messages.recipientIndexOf(messageId, recipientId)
  }

  findConversion(tenantId: number, id: string): Promise<StoredConversion | null> {
    return this.conversions.findConversion(tenantId, id)
  }

  recordConversion(conversion: NewConversion): Promise<{ conversion: StoredConversion; created: boolean }> {
    return this.conversions.recordConversion(conversion)
  }

  engagedRecipients(tenantId: number, since: number, after: string, limit: number): Promise<string[]> {
    return this.clicks.engagedRecipients(tenantId, since, after, limit)
  }
  getDomain(id: number): Promise<Domain | null> {
    return this.tenants.getDomain(id)
  }

  claimWebhookEvents(
    now: number,
    leaseUntil: number,
    limit: number,
    skipTenants?: readonly number[],
  ): Promise<DueWebhookEvent[]> {
    return this.webhooks.claimWebhookEvents(now, leaseUntil, limit, skipTenants)
  }

  releaseWebhookEvents(eventIds: readonly number[], leaseUntil: number, now: number): Promise<void> {
    return this.webhooks.releaseWebhookEvents(eventIds, leaseUntil, now)
  }

  scrubRecipientClicks(messageId: number, recipientIdx: number): Promise<void> {
    return this.retention.scrubRecipientClicks(messageId, recipientIdx)
  }

  cacheChangeHead(): Promise<string> {
    return this.cacheChanges.cacheChangeHead()
  }

  cacheChangesAfter(position: string, limit: number): Promise<{ changes: CacheChange[]; position: string }> {
    return this.cacheChanges.cacheChangesAfter(position, limit)
  }

  watchCacheChanges(watcher: CacheChangeWatcher): CacheChangeWatch {
    return this.cacheChanges.watchCacheChanges(watcher)
  }

  pruneCacheChanges(before: number, limit: number): Promise<number> {
    return this.cacheChanges.pruneCacheChanges(before, limit)
  }

  /** Holds a session-level advisory lock on a connection of its own while the job runs; a dead instance's lock goes with its connection. */
  async runExclusive(name: string, job: () => Promise<void>): Promise<boolean> {
    const client = await this.pool.connect()
    let locked = false
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext('smslinks job'), hashtext($1)) AS locked",
        [name],
      )
      locked = rows[0]!.locked
      if (!locked) return false
      await job()
      return true
    } finally {
      // A connection that cannot unlock is broken: destroyed, it takes the lock with it.
      const unlocked =
        !locked ||
        (await client.query("SELECT pg_advisory_unlock(hashtext('smslinks job'), hashtext($1))", [name]).then(
          () => true,
          () => false,
        ))
      client.release(!unlocked)
    }
  }
}
