import { cacheChangeRecorder, type RecordCacheChange } from './cache-changes.js'
import { GroupCommit, retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import {
  CodeTaken,
  type AddedRecipients,
  type CreatedMessage,
  type LinkTarget,
  type Message,
  type MessageFilter,
  type MessagePage,
  type MessageStore,
  type NewMessage,
  type RecipientIndex,
} from '../store.js'
import { messageFromRow, parseUtm, serializeSpans, type LinkRow, type MessageRow } from '../rows.js'

/** Runs an insert into links, throwing CodeTaken where the unique (domain_id, code) key refused it. */
function codeChecked<T>(insert: () => T): T {
  try {
    return insert()
  } catch (err) {
    const { code, message } = err as { code?: string; message?: string }
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' && message?.includes('links.domain_id, links.code')) throw new CodeTaken()
    throw err
  }
}

/**
 * Recipients per multi-row insert. Per row, better-sqlite3's call (bind, step, reset,
 * result object) costs about as much as SQLite's two B-tree inserts, so one call
 * inserts many rows (figures in docs/adr/0023).
 */
const RECIPIENT_CHUNK = 500

function prepare(db: SqliteDatabase) {
  return {
    insertMessage: db.prepare(
      `INSERT INTO messages (public_id, tenant_id, domain_id, external_id, kind, campaign, variant, created_at,
         text, text_spans, strip_scheme, utm, click_id_param, language)
       VALUES (@publicId, @tenantId, @domainId, @externalId, @kind, @campaign, @variant, @createdAt,
         @text, @textSpans, @stripScheme, @utm, @clickIdParam, @language)`,
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
    setUnsubscribeCode: db.prepare('UPDATE messages SET unsubscribe_code = ? WHERE id = ?'),
    setMessageExpiry: db.prepare('UPDATE messages SET expires_at = ? WHERE id = ?'),
    linkSummary: db.prepare('SELECT public_id AS publicId, url FROM links WHERE id = ?'),
    recipientExternalId: db.prepare('SELECT external_id FROM recipients WHERE message_id = ? AND idx = ?').pluck(),
    messageTenant: db.prepare('SELECT tenant_id AS tenantId, public_id AS publicId FROM messages WHERE id = ?'),
  }
}

/** Messages with their links and counters rows, recipients, and the redirect's link lookup. */
export class SqliteMessages implements MessageStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']

  private readonly recordChange: RecordCacheChange
  /** Creations asked for in one turn of the event loop share a commit. */
  private readonly creations: GroupCommit<{ input: NewMessage; recipientIds: string[] }, CreatedMessage>

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
    this.write = connection.write
    this.recordChange = cacheChangeRecorder(connection.db)
    this.creations = new GroupCommit(connection, ({ input, recipientIds }) => this.#create(input, recipientIds))
  }

  // Not async: the group commit waits out a busy write lock itself.
  createMessage(input: NewMessage, recipientIds: string[] = []): Promise<CreatedMessage> {
    return this.creations.run({ input, recipientIds })
  }

  /** Inside a write transaction. */
  #create(input: NewMessage, recipientIds: string[]): CreatedMessage {
    if (input.externalId !== null) {
      const existing = this.sql.getMessageByExternalId.get(input.tenantId, input.externalId) as MessageRow | undefined
      if (existing) return { message: this.#toMessage(existing), created: false, recipients: [] }
    }
    const { links, text, stripScheme, utm, expiresAt: _expiresAt, ...row } = input
    const serialized = {
      text: text?.body ?? null,
      textSpans: serializeSpans(text),
      stripScheme: stripScheme ? 1 : 0,
      utm: utm ? JSON.stringify(utm) : null,
    }
    const id = Number(this.sql.insertMessage.run({ ...row, ...serialized }).lastInsertRowid)
    this.sql.insertMessageCounters.run(id)
    if (input.unsubscribeCode !== null) this.sql.setUnsubscribeCode.run(input.unsubscribeCode, id)
    if (input.expiresAt !== null) this.sql.setMessageExpiry.run(input.expiresAt, id)
    const linkRows = links.map((link, position): LinkRow => {
      const linkId = codeChecked(() =>
        this.sql.insertLink.run(link.publicId, id, input.domainId, position, link.code, link.url),
      ).lastInsertRowid
      this.sql.insertLinkCounters.run(linkId)
      this.recordChange('link', `${input.domainId}/${link.code}`)
      return { id: Number(linkId), public_id: link.publicId, position, code: link.code, url: link.url }
    })
    const { recipients, recipientCount } = this.#insertRecipients(id, 0, recipientIds)
    // The row as stored, from what was written, instead of reading it back.
    const stored: MessageRow = {
      id,
      public_id: input.publicId,
      tenant_id: input.tenantId,
      domain_id: input.domainId,
      external_id: input.externalId,
      kind: input.kind,
      campaign: input.campaign,
      variant: input.variant,
      recipient_count: recipientCount,
      created_at: input.createdAt,
      unsubscribe_code: input.unsubscribeCode,
      text: serialized.text,
      text_spans: serialized.textSpans,
      strip_scheme: serialized.stripScheme,
      utm: serialized.utm,
      click_id_param: input.clickIdParam,
      expires_at: input.expiresAt,
      language: input.language,
    }
    return { message: messageFromRow(stored, linkRows), created: true, recipients }
  }

  async addRecipients(messageId: number, externalIds: string[]): Promise<AddedRecipients> {
    return this.write(() => {
      const message = this.sql.getMessageById.get(messageId) as MessageRow
      return this.#insertRecipients(messageId, message.recipient_count, externalIds)
    })
  }

  /** Adds recipients to a message that has `count` of them; inside a write transaction. */
  #insertRecipients(messageId: number, count: number, externalIds: string[]): AddedRecipients {
    if (externalIds.length === 0) return { recipients: [], recipientCount: count }
    let next = count
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
  }

  async getMessage(tenantId: number, publicId: string): Promise<Message | null> {
    const row = this.sql.getMessageByPublicId.get(publicId, tenantId) as MessageRow | undefined
    return row ? this.#toMessage(row) : null
  }

  async findMessageByExternalId(tenantId: number, externalId: string): Promise<Message | null> {
    const row = this.sql.getMessageByExternalId.get(tenantId, externalId) as MessageRow | undefined
    return row ? this.#toMessage(row) : null
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
      messages: page.map((row) => this.#toMessage(row)),
      nextBefore: rows.length > limit ? page[page.length - 1]!.id : null,
    }
  }

  async findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null> {
    const row = this.sql.findLinkTarget.get(domainId, code) as
      (Omit<LinkTarget, 'utm'> & { utm: string | null }) | undefined
    return row ? { ...row, utm: parseUtm(row.utm) } : null
  }

  async messageOwner(messageId: number): Promise<{ tenantId: number; publicId: string } | null> {
    return (this.sql.messageTenant.get(messageId) as { tenantId: number; publicId: string } | undefined) ?? null
  }

  async recipientIndexOf(messageId: number, recipientId: string): Promise<number | null> {
    return (this.sql.recipientIndex.get(messageId, recipientId) as number | undefined) ?? null
  }

  async recipientIdsAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, string>> {
    const ids = new Map<number, string>()
    for (const idx of recipientIdxs) {
      const id = this.sql.recipientExternalId.get(messageId, idx) as string | undefined
      if (id !== undefined) ids.set(idx, id)
    }
    return ids
  }

  async linkSummaries(linkIds: number[]): Promise<Map<number, { publicId: string; url: string }>> {
    const links = new Map<number, { publicId: string; url: string }>()
    for (const id of linkIds) {
      const link = this.sql.linkSummary.get(id) as { publicId: string; url: string } | undefined
      if (link) links.set(id, link)
    }
    return links
  }

  #toMessage(row: MessageRow): Message {
    return messageFromRow(row, this.sql.linksOfMessage.all(row.id) as LinkRow[])
  }
}

retryingWhileBusy(SqliteMessages)
