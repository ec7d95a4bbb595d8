import type pg from 'pg'
import {
  CodeTaken,
  type AddedRecipients,
  type CreatedMessage,
  type LinkTarget,
  type Message,
  type MessageFilter,
  type MessagePage,
  type NewMessage,
  type RecipientIndex,
  type UnsubscribeTarget,
} from '../store.js'
import { messageFromRow, parseUtm, serializeSpans, type LinkRow as MessageLinkRow, type MessageRow } from '../rows.js'
import { transaction, type Queryable } from './pool.js'

/** The statement's promise, rejecting with CodeTaken where links' unique (domain, code) key refused a row. */
async function codeChecked<T>(statement: Promise<T>): Promise<T> {
  try {
    return await statement
  } catch (err) {
    const { code, constraint } = err as { code?: string; constraint?: string }
    if (code === '23505' && constraint === 'links_domain_id_code_key') throw new CodeTaken()
    throw err
  }
}

/** Some of the ids addRecipients took to be new were the message's already. */
class NotAllNew extends Error {}

/**
 * Indexes for a call's ids: one in `indexes` (the message's already) keeps its own, a new
 * one gets the next from `next`, a repeated one its first. `newIds` and `newIndexes` are
 * the rows to insert.
 */
function assignIndexes(externalIds: readonly string[], indexes: Map<string, number>, next: number) {
  const newIds: string[] = []
  const newIndexes: number[] = []
  for (const externalId of externalIds) {
    if (indexes.has(externalId)) continue
    indexes.set(externalId, next)
    newIds.push(externalId)
    newIndexes.push(next++)
  }
  const recipients = externalIds.map((externalId): RecipientIndex => ({ externalId, index: indexes.get(externalId)! }))
  return { newIds, newIndexes, recipients, recipientCount: next }
}

interface LinkRow extends MessageLinkRow {
  message_id: number
}

/** A created link's columns beside its message's, null for a message without links. */
interface CreatedLinkColumns {
  link_id: number | null
  link_public_id: string | null
  link_position: number | null
  link_code: string | null
  link_url: string | null
}

/** Messages, their links and recipients, and the lookups the redirect and the unsubscribe page make. */
export class PostgresMessages {
  constructor(private readonly pool: pg.Pool) {}

  async createMessage(input: NewMessage, recipientIds: string[] = []): Promise<CreatedMessage> {
    // A new message has no recipients yet.
    const first = assignIndexes(recipientIds, new Map(), 0)
    // One statement, atomic on its own: the message row, its counters, its links with their
    // counters and cache changes, and the first recipients (a transactional message is one
    // round trip). Each row answered is the message's with one of its links.
    const { rows } = await codeChecked(
      this.pool.query<MessageRow & CreatedLinkColumns>({
        name: 'smslinks-create-message',
        text: `WITH mm AS (
         INSERT INTO messages (public_id, tenant_id, domain_id, external_id, kind, campaign, variant, created_at,
           text, text_spans, strip_scheme, utm, click_id_param, unsubscribe_code, expires_at, language, recipient_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
         RETURNING *),
       l AS (
         INSERT INTO links (public_id, message_id, domain_id, position, code, url)
         SELECT p, mm.id, mm.domain_id, pos - 1, c, u
         FROM mm, unnest($18::text[], $19::text[], $20::text[]) WITH ORDINALITY AS t(p, c, u, pos)
         RETURNING id, public_id, position, code, url, domain_id),
       c AS (INSERT INTO cache_changes (kind, key, at) SELECT 'link', concat(domain_id, '/', code), $21 FROM l),
       k AS (INSERT INTO link_counters (link_id) SELECT id FROM l),
       m AS (INSERT INTO message_counters (message_id) SELECT id FROM mm),
       r AS (INSERT INTO recipients (message_id, idx, external_id)
         SELECT mm.id, t.i, t.e FROM mm, unnest($22::int[], $23::text[]) AS t(i, e))
       SELECT mm.*, l.id AS link_id, l.public_id AS link_public_id, l.position AS link_position,
         l.code AS link_code, l.url AS link_url
       FROM mm LEFT JOIN l ON true ORDER BY l.position`,
        values: [
          input.publicId,
          input.tenantId,
          input.domainId,
          input.externalId,
          input.kind,
          input.campaign,
          input.variant,
          input.createdAt,
          input.text?.body ?? null,
          serializeSpans(input.text),
          input.stripScheme,
          input.utm ? JSON.stringify(input.utm) : null,
          input.clickIdParam,
          input.unsubscribeCode,
          input.expiresAt,
          input.language,
          first.recipientCount,
          input.links.map((link) => link.publicId),
          input.links.map((link) => link.code),
          input.links.map((link) => link.url),
          Date.now(),
          first.newIndexes,
          first.newIds,
        ],
      }),
    )
    const row = rows[0]
    if (row === undefined) {
      // The tenant already has a message with this externalId (perhaps committed by
      // another instance a moment ago): that one is the answer.
      const existing = await this.findMessageByExternalId(input.tenantId, input.externalId!)
      return { message: existing!, created: false, recipients: [] }
    }
    const links = rows
      .filter((link) => link.link_id !== null)
      .map((link): MessageLinkRow => ({
        id: link.link_id!,
        public_id: link.link_public_id!,
        position: link.link_position!,
        code: link.link_code!,
        url: link.link_url!,
      }))
    return { message: messageFromRow(row, links), created: true, recipients: first.recipients }
  }

  async addRecipients(messageId: number, externalIds: string[]): Promise<AddedRecipients> {
    // Most calls add ids the message does not have yet: they are inserted in one statement
    // without looking them up first, the unique key checking them as it inserts. If one was
    // there already, that transaction is rolled back and the call looks them up.
    try {
      return await transaction(this.pool, (client) => this.#addRecipients(client, messageId, externalIds, false))
    } catch (err) {
      if (!(err instanceof NotAllNew)) throw err
      return transaction(this.pool, (client) => this.#addRecipients(client, messageId, externalIds, true))
    }
  }

  /**
   * Adds `externalIds` to the message, each new one at the next index. With `lookUp`
   * false the ids are taken to be new, and NotAllNew is thrown (rolling the transaction
   * back) when one was not.
   */
  async #addRecipients(
    client: pg.PoolClient,
    messageId: number,
    externalIds: string[],
    lookUp: boolean,
  ): Promise<AddedRecipients> {
    // The message row's lock orders concurrent calls: indexes are handed out by one at a time.
    const locked = await client.query<{ recipient_count: number }>(
      'SELECT recipient_count FROM messages WHERE id = $1 FOR UPDATE',
      [messageId],
    )
    const stored = locked.rows[0]!.recipient_count
    const indexes = new Map<string, number>()
    if (lookUp && stored > 0 && externalIds.length > 0) {
      const existing = await client.query<{ external_id: string; idx: number }>(
        'SELECT external_id, idx FROM recipients WHERE message_id = $1 AND external_id = ANY($2::text[])',
        [messageId, externalIds],
      )
      for (const row of existing.rows) indexes.set(row.external_id, row.idx)
    }
    const { newIds, newIndexes, recipients, recipientCount } = assignIndexes(externalIds, indexes, stored)
    if (newIds.length > 0) {
      const inserted = await client.query(
        'INSERT INTO recipients (message_id, idx, external_id) SELECT $1, unnest($2::int[]), unnest($3::text[]) ' +
          'ON CONFLICT (message_id, external_id) DO NOTHING',
        [messageId, newIndexes, newIds],
      )
      // Under the lock only an id taken to be new can be there already.
      if (inserted.rowCount !== newIds.length) throw new NotAllNew()
      await client.query('UPDATE messages SET recipient_count = $1 WHERE id = $2', [recipientCount, messageId])
    }
    return { recipients, recipientCount }
  }

  async getMessage(tenantId: number, publicId: string): Promise<Message | null> {
    const { rows } = await this.pool.query<MessageRow>(
      'SELECT * FROM messages WHERE public_id = $1 AND tenant_id = $2',
      [publicId, tenantId],
    )
    return (await toMessages(this.pool, rows))[0] ?? null
  }

  async findMessageByExternalId(tenantId: number, externalId: string): Promise<Message | null> {
    const { rows } = await this.pool.query<MessageRow>(
      'SELECT * FROM messages WHERE tenant_id = $1 AND external_id = $2',
      [tenantId, externalId],
    )
    return (await toMessages(this.pool, rows))[0] ?? null
  }

  async listMessages(
    tenantId: number,
    before: number | null,
    limit: number,
    filter: MessageFilter = {},
  ): Promise<MessagePage> {
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT * FROM messages WHERE tenant_id = $1 AND id < $2
         AND ($4::text IS NULL OR campaign = $4) AND ($5::text IS NULL OR kind = $5)
         AND created_at >= $6 AND created_at < $7
       ORDER BY id DESC LIMIT $3`,
      [
        tenantId,
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
        filter.campaign ?? null,
        filter.kind ?? null,
        filter.from ?? 0,
        filter.to ?? Number.MAX_SAFE_INTEGER,
      ],
    )
    const page = rows.slice(0, limit)
    return {
      messages: await toMessages(this.pool, page),
      nextBefore: rows.length > limit ? page[page.length - 1]!.id : null,
    }
  }

  async findLinkTarget(domainId: number, code: string): Promise<LinkTarget | null> {
    const { rows } = await this.pool.query<Omit<LinkTarget, 'utm'> & { utm: string | null }>(
      `SELECT l.id AS "linkId", l.message_id AS "messageId", l.url, m.utm, m.click_id_param AS "clickIdParam",
         m.expires_at AS "expiresAt"
       FROM links l JOIN messages m ON m.id = l.message_id WHERE l.domain_id = $1 AND l.code = $2`,
      [domainId, code],
    )
    const row = rows[0]
    return row ? { ...row, utm: parseUtm(row.utm) } : null
  }

  async messageOwner(messageId: number): Promise<{ tenantId: number; publicId: string } | null> {
    const { rows } = await this.pool.query<{ tenantId: number; publicId: string }>(
      'SELECT tenant_id AS "tenantId", public_id AS "publicId" FROM messages WHERE id = $1',
      [messageId],
    )
    return rows[0] ?? null
  }

  async recipientIndexOf(messageId: number, recipientId: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ idx: number }>(
      'SELECT idx FROM recipients WHERE message_id = $1 AND external_id = $2',
      [messageId, recipientId],
    )
    return rows[0]?.idx ?? null
  }

  async recipientIdsAt(messageId: number, recipientIdxs: number[]): Promise<Map<number, string>> {
    const { rows } = await this.pool.query<{ idx: number; external_id: string }>(
      'SELECT idx, external_id FROM recipients WHERE message_id = $1 AND idx = ANY($2::int[])',
      [messageId, recipientIdxs],
    )
    return new Map(rows.map((row) => [row.idx, row.external_id]))
  }

  async linkSummaries(linkIds: number[]): Promise<Map<number, { publicId: string; url: string }>> {
    const { rows } = await this.pool.query<{ id: number; public_id: string; url: string }>(
      'SELECT id, public_id, url FROM links WHERE id = ANY($1::bigint[])',
      [linkIds],
    )
    return new Map(rows.map((row) => [row.id, { publicId: row.public_id, url: row.url }]))
  }

  async unsubscribeCodeExists(domainId: number, code: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'SELECT 1 FROM messages WHERE domain_id = $1 AND unsubscribe_code = $2',
      [domainId, code],
    )
    return rowCount !== null && rowCount > 0
  }

  async findUnsubscribeTarget(domainId: number, code: string): Promise<UnsubscribeTarget | null> {
    const { rows } = await this.pool.query<UnsubscribeTarget>(
      `SELECT m.id AS "messageId", m.public_id AS "messagePublicId", m.tenant_id AS "tenantId", t.name AS "tenantName",
         m.recipient_count AS "recipientCount", m.language AS "messageLanguage", t.language AS "tenantLanguage"
       FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE m.domain_id = $1 AND m.unsubscribe_code = $2`,
      [domainId, code],
    )
    return rows[0] ?? null
  }
}

/** Message rows with their links, read in one query for the whole page. */
async function toMessages(db: Queryable, rows: MessageRow[]): Promise<Message[]> {
  if (rows.length === 0) return []
  const { rows: links } = await db.query<LinkRow>(
    'SELECT id, message_id, public_id, position, code, url FROM links WHERE message_id = ANY($1::bigint[]) ORDER BY message_id, position',
    [rows.map((row) => row.id)],
  )
  const byMessage = new Map<number, LinkRow[]>()
  for (const link of links) {
    const list = byMessage.get(link.message_id) ?? []
    list.push(link)
    byMessage.set(link.message_id, list)
  }
  return rows.map((row) => messageFromRow(row, byMessage.get(row.id) ?? []))
}
