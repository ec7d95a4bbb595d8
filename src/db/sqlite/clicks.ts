import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import { customAlphabet } from 'nanoid'
import type { ClickRow, ExportedClick } from '../../click.js'
import { firstClickBucket } from '../../first-click-delay.js'
import { BASE62 } from '../../base62.js'
import type { BreakdownCount, ClickCounters, ClickStore, ClickTimingRules, MessageCounters } from '../store.js'
import type { WebhookSubscribers } from './webhooks.js'

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

/** Event ids: `evt_` and 20 base62 characters, unique across webhooks and restarts. */
const newEventId = customAlphabet(BASE62, 20)

const counters = (row: CounterRow | undefined): ClickCounters => ({
  total: row?.clicks_total ?? 0,
  unique: row?.clicks_unique ?? 0,
  bots: row?.clicks_bots ?? 0,
  previews: row?.clicks_previews ?? 0,
})

/** User agents remembered by the writer, so a repeat costs no lookup. */
const USER_AGENT_MEMORY = 10_000

function prepare(db: SqliteDatabase) {
  return {
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
    findClick: db.prepare(
      `SELECT click_id AS clickId, at, message_id AS messageId, link_id AS linkId, recipient_idx AS recipientIdx, class
       FROM clicks WHERE click_id = ? ORDER BY id LIMIT 1`,
    ),
    // What the click flush needs of a message, read once per message per batch.
    messageFacts: db.prepare(
      `SELECT m.recipient_count AS recipients, m.created_at AS createdAt, c.last_delivery_at AS lastDeliveryAt,
         (SELECT count(*) FROM links WHERE message_id = m.id) AS links
       FROM messages m LEFT JOIN message_counters c ON c.message_id = m.id WHERE m.id = ?`,
    ),
    recipientDeliveredAt: db.prepare('SELECT delivery_at FROM recipients WHERE message_id = ? AND idx = ?').pluck(),
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
    listClicks: db.prepare(
      `SELECT c.id, c.at, l.public_id AS linkPublicId, r.external_id AS recipientId, c.class, c.reason, u.ua AS userAgent
       FROM clicks c JOIN links l ON l.id = c.link_id
       LEFT JOIN recipients r ON r.message_id = c.message_id AND r.idx = c.recipient_idx
       LEFT JOIN user_agents u ON u.id = c.user_agent_id
       WHERE c.message_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
    ),
    setLastClick: db.prepare(
      'UPDATE message_uniques SET last_at = max(coalesce(last_at, first_at), ?) WHERE message_id = ? AND recipient_idx = ?',
    ),
    lastHumanClick: db
      .prepare('SELECT coalesce(last_at, first_at) FROM message_uniques WHERE message_id = ? AND recipient_idx = ?')
      .pluck(),
    revenueOf: db.prepare('SELECT currency, amount FROM message_revenue WHERE message_id = ? ORDER BY currency'),
    messageTenant: db.prepare('SELECT tenant_id AS tenantId, public_id AS publicId FROM messages WHERE id = ?'),
    linkPublic: db.prepare('SELECT public_id AS publicId, url FROM links WHERE id = ?'),
    recipientExternalId: db.prepare('SELECT external_id FROM recipients WHERE message_id = ? AND idx = ?').pluck(),
    insertWebhookEvent: db.prepare(
      `INSERT INTO webhook_events (public_id, webhook_id, type, body, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
  }
}

/** Raw clicks, first clicks per recipient, and the counters and breakdowns the click write moves. */
export class SqliteClicks implements ClickStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']

  constructor(
    private readonly connection: SqliteConnection,
    private readonly subscribers: WebhookSubscribers,
  ) {
    this.sql = prepare(connection.db)
    this.write = connection.write
  }

  private readonly userAgentIds = new Map<string, number>()

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
      const events = this.#clickEvents()
      const facts = new Map<number, MessageFacts>()
      const byMessage = new Map<number, ClickCounters>()
      const byLink = new Map<number, ClickCounters>()
      // Aggregated per batch in memory: one UPSERT per distinct key, not one per click.
      const reasons = new Map<number, Map<string, number>>()
      const breakdowns = new Map<number, Map<string, number>>()
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
        const click = rules && raw.class === 'human' ? this.#timingVerdict(raw, recipientIdx, message, rules) : raw
        const userAgentId = click.userAgent === null ? null : this.#userAgentId(click.userAgent)
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
    })
  }

  /**
   * too_fast, then burst, for a click its user agent left human. The recipient's own
   * delivery time is read only for clicks within tooFastMs of the message's creation or
   * of its latest delivery report: any later click is later than every recipient's.
   */
  #timingVerdict(
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

  #userAgentId(ua: string): number {
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

  async listClicks(messageId: number, after: number, limit: number): Promise<ExportedClick[]> {
    return this.sql.listClicks.all(messageId, after, limit) as ExportedClick[]
  }

  async findClick(
    clickId: string,
  ): Promise<Pick<ClickRow, 'at' | 'messageId' | 'linkId' | 'recipientIdx' | 'class'> | null> {
    return (this.sql.findClick.get(clickId) as ClickRow | undefined) ?? null
  }

  async lastHumanClick(messageId: number, recipientIdx: number): Promise<number | null> {
    return (this.sql.lastHumanClick.get(messageId, recipientIdx) as number | undefined) ?? null
  }

  /**
   * Writes `click` events into the outbox for the tenants subscribed to them, inside
   * the flush transaction. What an event needs (message, link, recipient id) is looked
   * up once per batch, and only for clicks of subscribed tenants.
   */
  #clickEvents() {
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
}

retryingWhileBusy(SqliteClicks)
