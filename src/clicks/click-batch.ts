/**
 * What a batch of clicks means, as plain code both backends share: the issued-index
 * check on tokens, the too_fast and burst verdicts, the counters and breakdowns a
 * click moves, which first clicks to try, and the webhook events it raises. The
 * store answers a few narrow reads and stores the result (a ClickWrite) in one
 * transaction; it decides nothing (docs/adr/0070).
 */
import { clickSeriesBucket } from '../click-series.js'
import type { ClickRow } from '../click.js'
import type {
  ClickMessageFacts,
  ClickStore,
  ClickTally,
  ClickWrite,
  DeliveryTime,
  FirstClickAttempt,
  LinkFirstClickAttempt,
  MessageStore,
  WebhookStore,
} from '../db/store.js'
import { firstClickBucket } from '../first-click-delay.js'
import { clickEvents } from '../webhooks/click-events.js'
import { judgedBySweepRule, sweepIdentity, type SweepSettings } from './sweep-rule.js'

/**
 * The reasons that depend on time and on other clicks, decided for clicks the user
 * agent left human: `too_fast` from the message's and the recipient's times, then
 * `burst` from what this rule has seen of the same token.
 */
export interface ClickTimingRules {
  /** A click sooner than this after the recipient's delivery report (or the message's creation) is too fast; 0: off. */
  tooFastMs: number
  /**
   * Called for each click still human after too_fast, with a recipient and a network;
   * true when the token was fetched from another network within the burst window.
   */
  isBurst(messageId: number, recipientIdx: number, network: string, at: number): boolean
  /** The sweep rule's settings: clicks it judges are written pending (docs/adr/0084); unset: off. */
  readonly sweep?: SweepSettings
}

/** The reads and the one write a click batch needs of a store. */
export type ClickBatchStore = Pick<ClickStore, 'clickMessageFacts' | 'recipientsDeliveredAt' | 'writeClicks'> &
  Pick<MessageStore, 'recipientIdsAt' | 'linkSummaries'> &
  Pick<WebhookStore, 'subscribedWebhooks'>

/** Message → recipient → its latest delivery report's time. */
export type DeliveryTimes = Map<number, Map<number, DeliveryTime>>

/** Facts for a click whose message is gone: no recipient can be valid for it. */
const NO_MESSAGE: ClickMessageFacts = {
  tenantId: 0,
  publicId: '',
  recipients: 0,
  links: 0,
  createdAt: 0,
  lastDeliveryAt: null,
}

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

/**
 * Judges a batch of classified clicks and stores it, counters included, in one
 * transaction. With rules, clicks the user agent left human are checked for
 * too_fast and burst first. Rejects, storing nothing, when the write fails.
 * `batchId` names the batch across retries (see ClickWrite.batchId).
 */
export async function recordClicks(
  store: ClickBatchStore,
  clicks: ClickRow[],
  rules?: ClickTimingRules,
  batchId?: string,
): Promise<void> {
  const messageIds = new Set<number>()
  for (const click of clicks) messageIds.add(click.messageId)
  // Read side by side: on PostgreSQL each is a round trip, on two pool connections.
  const [facts, subscribers] = await Promise.all([
    store.clickMessageFacts([...messageIds]),
    store.subscribedWebhooks('click'),
  ])
  const deliveredAt = rules && rules.tooFastMs > 0 ? await deliveryTimes(store, clicks, facts, rules) : null
  const write = planClickWrite(clicks, facts, rules, deliveredAt)
  // A pending click raises its event when it settles, with its final verdict.
  const pending = new Set(write.pending.map((p) => p.index))
  const counted = pending.size === 0 ? write.clicks : write.clicks.filter((_, i) => !pending.has(i))
  write.events = await clickEvents(store, counted, facts, subscribers)
  if (batchId !== undefined) write.batchId = batchId
  await store.writeClicks(write)
}

/**
 * The recipients' delivery report times too_fast needs: only for human clicks within
 * tooFastMs of their message's creation or of its latest delivery report, and not left
 * to the settle pass; any later click is later than every recipient's.
 */
export async function deliveryTimes(
  store: Pick<ClickStore, 'recipientsDeliveredAt'>,
  clicks: ClickRow[],
  facts: Map<number, ClickMessageFacts>,
  rules: Pick<ClickTimingRules, 'tooFastMs' | 'sweep'>,
): Promise<DeliveryTimes | null> {
  const tooFastMs = rules.tooFastMs
  let wanted: Map<number, Set<number>> | null = null
  for (const click of clicks) {
    if (click.class !== 'human' || click.recipientIdx === null) continue
    const message = facts.get(click.messageId)
    if (message === undefined || message.lastDeliveryAt === null || click.recipientIdx >= message.recipients) continue
    if (rules.sweep && judgedBySweepRule(click, message, rules.sweep)) continue
    if (click.at >= message.createdAt + tooFastMs && click.at >= message.lastDeliveryAt + tooFastMs) continue
    wanted ??= new Map()
    let indexes = wanted.get(click.messageId)
    if (!indexes) wanted.set(click.messageId, (indexes = new Set()))
    indexes.add(click.recipientIdx)
  }
  if (wanted === null) return null
  const times: DeliveryTimes = new Map()
  for (const [messageId, indexes] of wanted) {
    times.set(messageId, await store.recipientsDeliveredAt(messageId, [...indexes]))
  }
  return times
}

/**
 * Turns a batch into what the store writes: each click judged (issued index, too_fast,
 * burst) or, when the sweep rule judges it, set aside as pending; the counters the
 * others move whatever happens, and the first clicks to try, one per message and
 * recipient and one per link and recipient, whose counters move only when the store
 * really inserts them. `events` is left empty for the caller.
 */
export function planClickWrite(
  clicks: ClickRow[],
  facts: Map<number, ClickMessageFacts>,
  rules: ClickTimingRules | undefined,
  deliveredAt: DeliveryTimes | null,
): ClickWrite {
  const rows: ClickRow[] = new Array(clicks.length)
  const messageTallies = new Map<number, ClickTally>()
  const linkTallies = new Map<number, ClickTally>()
  // Aggregated per batch in memory: one upsert per distinct key, not one per click.
  const reasons = new Map<number, Map<string, number>>()
  const breakdowns = new Map<number, Map<string, number>>()
  const series = new Map<number, Map<string, number>>()
  const firstClicks = new Map<number, Map<number, FirstClickAttempt>>()
  const linkFirstClicks = new Map<number, Map<number, LinkFirstClickAttempt>>()
  const pending: ClickWrite['pending'] = []
  for (let i = 0; i < clicks.length; i++) {
    const raw = clicks[i]!
    const message = facts.get(raw.messageId) ?? NO_MESSAGE
    // A token can only be valid for an index that was issued; anything else was
    // a lucky forgery and must not pass for a recipient.
    const recipientIdx = raw.recipientIdx !== null && raw.recipientIdx < message.recipients ? raw.recipientIdx : null
    let click = raw.recipientIdx === recipientIdx ? raw : { ...raw, recipientIdx }
    // Judged later, when settled: too_fast and burst too, after the sweep rule, so
    // that a scanner's fetches are judged as a whole and never make a person's tap a burst.
    if (rules?.sweep && judgedBySweepRule(click, message, rules.sweep)) {
      rows[i] = click
      pending.push({ index: i, identity: sweepIdentity(click.network!, click.userAgent!) })
      continue
    }
    if (rules && click.class === 'human') click = timingVerdict(click, recipientIdx, message, rules, deliveredAt)
    rows[i] = click
    const counts = tally(messageTallies, click.messageId)
    const link = tally(linkTallies, click.linkId)
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
    let ofMessage = firstClicks.get(click.messageId)
    if (!ofMessage) firstClicks.set(click.messageId, (ofMessage = new Map()))
    const seen = ofMessage.get(recipientIdx)
    if (seen === undefined) {
      ofMessage.set(recipientIdx, {
        messageId: click.messageId,
        recipientIdx,
        at: click.at,
        lastAt: click.at,
        delayBucket: String(firstClickBucket(click.at - message.createdAt)),
        // With one link, a recipient's first click on the message is its first on the link.
        linkId: message.links === 1 ? click.linkId : null,
        repeated: false,
      })
    } else {
      seen.repeated = true
      if (click.at > seen.lastAt) seen.lastAt = click.at
    }
    if (message.links === 1) continue
    let ofLink = linkFirstClicks.get(click.linkId)
    if (!ofLink) linkFirstClicks.set(click.linkId, (ofLink = new Map()))
    if (!ofLink.has(recipientIdx)) ofLink.set(recipientIdx, { linkId: click.linkId, recipientIdx, at: click.at })
  }
  const write: ClickWrite = {
    clicks: rows,
    messageTallies,
    linkTallies,
    reasons: [],
    breakdowns: [],
    series: [],
    firstClicks: [],
    linkFirstClicks: [],
    events: [],
    pending,
  }
  for (const [messageId, counts] of reasons) {
    for (const [reason, n] of counts) write.reasons.push({ messageId, reason, clicks: n })
  }
  for (const [messageId, counts] of breakdowns) {
    for (const [key, n] of counts) {
      const cut = key.indexOf('\u0000')
      const dimension = key.slice(0, cut) as ClickWrite['breakdowns'][number]['dimension']
      write.breakdowns.push({ messageId, dimension, value: key.slice(cut + 1), clicks: n })
    }
  }
  for (const [messageId, counts] of series) {
    for (const [bucket, n] of counts) write.series.push({ messageId, bucket: Number(bucket), clicks: n })
  }
  for (const ofMessage of firstClicks.values()) for (const first of ofMessage.values()) write.firstClicks.push(first)
  for (const ofLink of linkFirstClicks.values()) for (const first of ofLink.values()) write.linkFirstClicks.push(first)
  return write
}

/**
 * too_fast, then burst, for a click its user agent left human. A click before the
 * recipient's delivery report's time counts too: carriers scan links before delivering.
 * A report stamped with its arrival (no carrier time) says only that delivery came
 * before it, so a click made before it is judged by the message's creation alone:
 * the same verdict whether the writer reached the click before or after the report.
 */
function timingVerdict(
  click: ClickRow,
  recipientIdx: number | null,
  message: ClickMessageFacts,
  rules: ClickTimingRules,
  deliveredAt: DeliveryTimes | null,
): ClickRow {
  const threshold = rules.tooFastMs
  if (threshold > 0) {
    const nearCreation = click.at < message.createdAt + threshold
    const nearDelivery = message.lastDeliveryAt !== null && click.at < message.lastDeliveryAt + threshold
    if (nearCreation || nearDelivery) {
      const report = recipientIdx === null ? undefined : deliveredAt?.get(click.messageId)?.get(recipientIdx)
      const delivered = report === undefined || (report.arrival && click.at < report.at) ? undefined : report.at
      if (click.at < (delivered ?? message.createdAt) + threshold) return { ...click, class: 'bot', reason: 'too_fast' }
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

function tally(map: Map<number, ClickTally>, id: number): ClickTally {
  let entry = map.get(id)
  if (!entry) map.set(id, (entry = { total: 0, bots: 0, previews: 0 }))
  return entry
}

function add(map: Map<number, Map<string, number>>, id: number, key: string): void {
  let counts = map.get(id)
  if (!counts) map.set(id, (counts = new Map()))
  counts.set(key, (counts.get(key) ?? 0) + 1)
}
