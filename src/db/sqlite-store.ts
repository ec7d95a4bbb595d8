import { migrate } from './migrate.js'
import { openDatabase, type SqliteDatabase } from './open.js'
import {
  ConflictError,
  type AddedRecipients,
  type ApiKeyOwner,
  type ClickCounters,
  type ClickRecord,
  type Domain,
  type LinkTarget,
  type Message,
  type MessageCounters,
  type MessageKind,
  type MessagePage,
  type NewMessage,
  type RecipientIndex,
  type Store,
  type Tenant,
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
}

const counters = (row: CounterRow | undefined): ClickCounters => ({
  total: row?.clicks_total ?? 0,
  unique: row?.clicks_unique ?? 0,
  bots: row?.clicks_bots ?? 0,
})

/** Every statement the store runs, prepared once when it opens. */
function prepareStatements(db: SqliteDatabase) {
  return {
    getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
    insertSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    insertTenant: db.prepare('INSERT INTO tenants (public_id, name, created_at) VALUES (?, ?, ?)'),
    getTenant: db.prepare('SELECT id, public_id AS publicId, name, created_at AS createdAt FROM tenants WHERE public_id = ?'),
    countTenants: db.prepare('SELECT count(*) AS n FROM tenants'),
    getDomainByHost: db.prepare('SELECT id FROM domains WHERE host = ?'),
    insertDomain: db.prepare('INSERT INTO domains (tenant_id, host, base_url, created_at) VALUES (?, ?, ?, ?)'),
    listDomains: db.prepare('SELECT id, tenant_id AS tenantId, host, base_url AS baseUrl FROM domains ORDER BY id'),
    insertApiKey: db.prepare(
      'INSERT INTO api_keys (tenant_id, public_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    findApiKey: db.prepare(
      'SELECT id AS keyId, tenant_id AS tenantId FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL',
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (public_id, tenant_id, domain_id, external_id, kind, campaign, variant, created_at)
       VALUES (@publicId, @tenantId, @domainId, @externalId, @kind, @campaign, @variant, @createdAt)`,
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
    linksOfMessage: db.prepare(
      'SELECT id, public_id, position, code, url FROM links WHERE message_id = ? ORDER BY position',
    ),
    codeExists: db.prepare('SELECT 1 FROM links WHERE domain_id = ? AND code = ?'),
    insertRecipient: db.prepare(
      'INSERT INTO recipients (message_id, idx, external_id) VALUES (?, ?, ?) ON CONFLICT (message_id, external_id) DO NOTHING',
    ),
    recipientIndex: db.prepare('SELECT idx FROM recipients WHERE message_id = ? AND external_id = ?').pluck(),
    recipientCount: db.prepare('SELECT recipient_count FROM messages WHERE id = ?').pluck(),
    setRecipientCount: db.prepare('UPDATE messages SET recipient_count = ? WHERE id = ?'),
    findLinkTarget: db.prepare(
      'SELECT id AS linkId, message_id AS messageId, url FROM links WHERE domain_id = ? AND code = ?',
    ),
    findUserAgent: db.prepare('SELECT id FROM user_agents WHERE ua = ?'),
    insertUserAgent: db.prepare('INSERT INTO user_agents (ua) VALUES (?)'),
    insertClick: db.prepare(
      `INSERT INTO clicks (at, message_id, link_id, recipient_idx, class, reason, user_agent_id, network)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertMessageUnique: db.prepare(
      'INSERT INTO message_uniques (message_id, recipient_idx, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    insertLinkUnique: db.prepare(
      'INSERT INTO link_uniques (link_id, recipient_idx, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    bumpMessageCounters: db.prepare(
      `UPDATE message_counters SET clicks_total = clicks_total + ?, clicks_unique = clicks_unique + ?,
       clicks_bots = clicks_bots + ? WHERE message_id = ?`,
    ),
    bumpLinkCounters: db.prepare(
      `UPDATE link_counters SET clicks_total = clicks_total + ?, clicks_unique = clicks_unique + ?,
       clicks_bots = clicks_bots + ? WHERE link_id = ?`,
    ),
    messageCounters: db.prepare('SELECT * FROM message_counters WHERE message_id = ?'),
    linkCounters: db.prepare(
      `SELECT l.id AS link_id, c.clicks_total, c.clicks_unique, c.clicks_bots
       FROM links l LEFT JOIN link_counters c ON c.link_id = l.id WHERE l.message_id = ? ORDER BY l.position`,
    ),
    writeProbe: db.prepare(
      "INSERT INTO settings (key, value) VALUES ('readiness_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    // Revoking twice keeps the first time: a retried DELETE changes nothing.
    revokeApiKey: db.prepare(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND public_id = ?',
    ),
    listTenants: db.prepare('SELECT id, public_id AS publicId, name, created_at AS createdAt FROM tenants ORDER BY id'),
  }
}

type Statements = ReturnType<typeof prepareStatements>

/** User agents remembered by the writer, so a repeat costs no lookup. */
const USER_AGENT_MEMORY = 10_000

/** The SQLite store: one file, one connection, one writer, statements prepared once. */
export class SqliteStore implements Store {
  readonly db: SqliteDatabase
  private readonly userAgentIds = new Map<string, number>()
  private readonly sql: Statements

  private constructor(db: SqliteDatabase) {
    this.db = db
    this.sql = prepareStatements(db)
  }

  /** Opens the file, applies pending migrations, prepares statements. */
  static open(path: string): SqliteStore {
    const db = openDatabase(path)
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
    return this.db.transaction(() => {
      if (this.sql.getDomainByHost.get(host)) throw new ConflictError(`host ${host} already belongs to a tenant`)
      const { lastInsertRowid } = this.sql.insertDomain.run(tenantId, host, baseUrl, now)
      return { id: Number(lastInsertRowid), tenantId, host, baseUrl }
    }).immediate()
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
    return this.db.transaction(() => {
      if (input.externalId !== null) {
        const existing = this.sql.getMessageByExternalId.get(input.tenantId, input.externalId) as MessageRow | undefined
        if (existing) return { message: this.toMessage(existing), created: false }
      }
      const { links, ...row } = input
      const id = Number(this.sql.insertMessage.run(row).lastInsertRowid)
      this.sql.insertMessageCounters.run(id)
      links.forEach((link, position) => {
        const linkId = this.sql.insertLink.run(link.publicId, id, input.domainId, position, link.code, link.url).lastInsertRowid
        this.sql.insertLinkCounters.run(linkId)
      })
      return { message: this.toMessage(this.sql.getMessageById.get(id) as MessageRow), created: true }
    }).immediate()
  }

  async codeExists(domainId: number, code: string): Promise<boolean> {
    return this.sql.codeExists.get(domainId, code) !== undefined
  }

  async addRecipients(messageId: number, externalIds: string[]): Promise<AddedRecipients> {
    return this.db.transaction(() => {
      const message = this.sql.getMessageById.get(messageId) as MessageRow
      let next = message.recipient_count
      const insert = this.sql.insertRecipient!
      const lookup = this.sql.recipientIndex
      const recipients = externalIds.map((externalId): RecipientIndex => {
        if (insert.run(messageId, next, externalId).changes === 1) return { externalId, index: next++ }
        return { externalId, index: lookup.get(messageId, externalId) as number }
      })
      this.sql.setRecipientCount.run(next, messageId)
      return { recipients, recipientCount: next }
    }).immediate()
  }

  async getMessage(tenantId: number, publicId: string): Promise<Message | null> {
    const row = this.sql.getMessageByPublicId.get(publicId, tenantId) as MessageRow | undefined
    return row ? this.toMessage(row) : null
  }

  async findMessageByExternalId(tenantId: number, externalId: string): Promise<Message | null> {
    const row = this.sql.getMessageByExternalId.get(tenantId, externalId) as MessageRow | undefined
    return row ? this.toMessage(row) : null
  }

  async listMessages(tenantId: number, before: number | null, limit: number): Promise<MessagePage> {
    const rows = this.sql.listMessages.all(tenantId, before ?? Number.MAX_SAFE_INTEGER, limit + 1) as MessageRow[]
    const page = rows.slice(0, limit)
    return {
      messages: page.map((row) => this.toMessage(row)),
      nextBefore: rows.length > limit ? page[page.length - 1]!.id : null,
    }
  }

  async findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null> {
    return (this.sql.findLinkTarget.get(domainId, code) as LinkTarget | undefined) ?? null
  }

  async recordClicks(clicks: ClickRecord[]): Promise<void> {
    this.writeClicks(clicks)
  }

  private readonly writeClicks = (clicks: ClickRecord[]): void => {
    this.db.transaction(() => {
      const recipientCounts = new Map<number, number>()
      const byMessage = new Map<number, ClickCounters>()
      const byLink = new Map<number, ClickCounters>()
      const tally = (map: Map<number, ClickCounters>, id: number): ClickCounters => {
        let entry = map.get(id)
        if (!entry) map.set(id, (entry = { total: 0, unique: 0, bots: 0 }))
        return entry
      }
      for (const click of clicks) {
        let recipientIdx = click.recipientIdx
        if (recipientIdx !== null) {
          let count = recipientCounts.get(click.messageId)
          if (count === undefined) {
            count = (this.sql.recipientCount.get(click.messageId) as number | undefined) ?? 0
            recipientCounts.set(click.messageId, count)
          }
          // A token can only be valid for an index that was issued; anything else was
          // a lucky forgery and must not pass for a recipient.
          if (recipientIdx >= count) recipientIdx = null
        }
        const userAgentId = click.userAgent === null ? null : this.userAgentId(click.userAgent)
        this.sql.insertClick.run(
          click.at,
          click.messageId,
          click.linkId,
          recipientIdx,
          click.class,
          click.reason,
          userAgentId,
          click.network,
        )
        const message = tally(byMessage, click.messageId)
        const link = tally(byLink, click.linkId)
        if (click.class !== 'human') {
          message.bots++
          link.bots++
          continue
        }
        message.total++
        link.total++
        if (recipientIdx === null) continue
        if (this.sql.insertMessageUnique.run(click.messageId, recipientIdx, click.at).changes === 1) message.unique++
        if (this.sql.insertLinkUnique.run(click.linkId, recipientIdx, click.at).changes === 1) link.unique++
      }
      for (const [id, c] of byMessage) this.sql.bumpMessageCounters.run(c.total, c.unique, c.bots, id)
      for (const [id, c] of byLink) this.sql.bumpLinkCounters.run(c.total, c.unique, c.bots, id)
    })()
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
    return {
      clicks: counters(this.sql.messageCounters.get(messageId) as CounterRow | undefined),
      links: links.map((row) => ({ linkId: row.link_id, clicks: counters(row) })),
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
      links: links.map((link) => ({
        id: link.id,
        publicId: link.public_id,
        position: link.position,
        code: link.code,
        url: link.url,
      })),
    }
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

  async backup(path: string): Promise<void> {
    await this.db.backup(path)
  }
}
