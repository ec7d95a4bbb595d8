/**
 * The one storage interface. Everything outside src/db talks to this; nothing
 * else writes SQL. Methods are async so that a PostgreSQL store can implement
 * the same contract; the SQLite store answers synchronously underneath.
 */

export type MessageKind = 'campaign' | 'flow' | 'transactional'
export type ClickClass = 'human' | 'bot' | 'preview'

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

export interface Message {
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
}

export interface NewMessage {
  publicId: string
  tenantId: number
  domainId: number
  externalId: string | null
  kind: MessageKind
  campaign: string | null
  variant: string | null
  createdAt: number
  links: Array<{ publicId: string; code: string; url: string }>
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
  url: string
}

/** A click after classification, ready to store. */
export interface ClickRecord {
  at: number
  messageId: number
  linkId: number
  recipientIdx: number | null
  class: ClickClass
  reason: string | null
  userAgent: string | null
  network: string | null
}

export interface ClickCounters {
  total: number
  unique: number
  bots: number
}

export interface MessageCounters {
  clicks: ClickCounters
  links: Array<{ linkId: number; clicks: ClickCounters }>
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

export interface Store {
  getSetting(key: string): Promise<string | null>
  /** Stores the value unless the key already has one; returns the value that is kept. */
  setSettingOnce(key: string, value: string): Promise<string>

  createTenant(publicId: string, name: string, now: number): Promise<Tenant>
  getTenant(publicId: string): Promise<Tenant | null>
  countTenants(): Promise<number>

  /** Throws ConflictError when the host already belongs to a tenant. */
  addDomain(tenantId: number, host: string, baseUrl: string, now: number): Promise<Domain>
  listDomains(): Promise<Domain[]>

  createApiKey(tenantId: number, publicId: string, name: string, keyHash: Buffer, now: number): Promise<void>
  /** The tenant owning the unrevoked key with this hash. */
  findApiKey(keyHash: Buffer): Promise<ApiKeyOwner | null>

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
  /** Newest first; `before` is the internal id the previous page ended at. */
  listMessages(tenantId: number, before: number | null, limit: number): Promise<MessagePage>

  findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null>
  /** Stores clicks and updates counters in one transaction. */
  recordClicks(clicks: ClickRecord[]): Promise<void>
  messageCounters(messageId: number): Promise<MessageCounters>

  close(): Promise<void>

  /**
   * Commits a tiny write (a settings row), so readiness sees what a click flush would:
   * a closed connection, a read-only or full disk, a lock held too long. Throws if not writable.
   */
  checkWritable(): Promise<void>
  /**
   * Marks the tenant's key revoked; it stops authenticating at once. False when the
   * tenant has no key with this public id. Revoking a revoked key keeps its first revocation time.
   */
  revokeApiKey(tenantId: number, keyPublicId: string, now: number): Promise<boolean>
  /** Every tenant, oldest first. */
  listTenants(): Promise<Tenant[]>
  /**
   * Writes a consistent copy of the whole database to a new file while it stays in
   * use (SQLite's online backup). Readers and the writer are not stopped.
   */
  backup(path: string): Promise<void>
}
