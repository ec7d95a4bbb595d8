import type {
  AnsweredMessage,
  Message,
  NewWebhookEvent,
  OptOutOutcome,
  OptOutSource,
  OptOutWrite,
  Store,
  WebhookStore,
} from '../db/store.js'
import { ApiError } from '../errors.js'
import type { SuppressionKeys } from '../recipients/suppression.js'
import { inSlices } from '../slices.js'
import { newWebhookEventId, webhookEventBody } from '../webhook-event.js'

/** Opt-outs one import may carry. */
export const MAX_OPT_OUTS_PER_CALL = 100_000
/** Entries looked up, or stored in one transaction, between two turns of the event loop (docs/adr/0079). */
const ENTRIES_PER_SLICE = 500
/** How far ahead of our clock an opt-out's time may be: the sender's clock may run a little fast. */
const CLOCK_SKEW_MS = 5 * 60_000

/** Channels a sender reports opt-outs from; `link` opt-outs come only from the unsubscribe page. */
export type ReportedSource = Exclude<OptOutSource, 'link'>

/** An opt-out the sender received another way, as posted. */
export interface ReportedOptOut {
  recipient: string
  source: ReportedSource
  /** When the recipient opted out (ISO 8601). */
  at: string
  /** The message it answers; by default the recipient's latest message of the tenant sent at or before `at`. */
  messageId?: string
}

type Subscribers = Pick<WebhookStore, 'subscribedWebhooks'>

/** The `unsubscribe` subscribers' events for one change of the list (a re-subscribe goes to the same subscribers). */
function listEvents(
  webhookIds: readonly number[],
  change: {
    type: 'unsubscribe' | 'resubscribe'
    recipientId: string
    message: string | null
    source: OptOutSource | null
    at: number
  },
): NewWebhookEvent[] {
  return webhookIds.map((webhookId) => {
    const publicId = newWebhookEventId()
    const body = webhookEventBody({
      id: publicId,
      type: change.type,
      at: change.at,
      messagePublicId: change.message,
      recipientId: change.recipientId,
      link: null,
      click: null,
      source: change.source,
    })
    // The outbox row names the subscription it goes out under; the body says which change (docs/adr/0083).
    return { publicId, webhookId, type: 'unsubscribe', body, at: change.at }
  })
}

async function unsubscribeWebhooks(store: Subscribers, tenantId: number): Promise<number[]> {
  return (await store.subscribedWebhooks('unsubscribe')).get(tenantId) ?? []
}

/**
 * A person confirmed a message's unsubscribe page: the recipient goes on the tenant's
 * list (if not there yet) and counts once on the message as a `link` opt-out. Null
 * when the message has no such recipient.
 */
export async function recordLinkOptOut(
  store: Pick<Store, 'recipientIdsAt' | 'recordOptOuts'> & Subscribers,
  target: { messageId: number; messagePublicId: string; tenantId: number },
  recipientIdx: number,
  at: number,
): Promise<OptOutOutcome | null> {
  const recipientId = (await store.recipientIdsAt(target.messageId, [recipientIdx])).get(recipientIdx)
  if (recipientId === undefined) return null
  const message = { messageId: target.messageId, publicId: target.messagePublicId, recipientIdx }
  const webhookIds = await unsubscribeWebhooks(store, target.tenantId)
  const events = listEvents(webhookIds, {
    type: 'unsubscribe',
    recipientId,
    message: message.publicId,
    source: 'link',
    at,
  })
  const [outcome] = await store.recordOptOuts([
    { tenantId: target.tenantId, recipientId, source: 'link', at, message, events },
  ])
  return outcome!
}

/** What became of reported opt-outs. */
export interface ReportedOutcome {
  received: number
  /** Newly on the tenant's list. */
  added: number
  /** Already on the list (before, or earlier in the same call): kept once. */
  alreadyOptedOut: number
  /** Counted on the message they answer (a recipient counts once per message, under its first channel). */
  counted: number
  /** Recipients whose opt-out answers no message: none named, and none of the tenant's went to them before. */
  unknownRecipients: string[]
  /** Per entry, in the order given. */
  entries: Array<{ recipient: string; messageId: string | null; added: boolean; counted: boolean }>
}

/**
 * Stores opt-outs the sender received by reply, import or support. Every entry is
 * checked and its message found before anything is written: a bad entry refuses the
 * whole call (naming it) and stores nothing. Then the entries are stored in order,
 * a slice per transaction, so an import of many thousands never holds the event loop
 * long; one posted again, or repeated within the call, is kept once.
 */
export async function recordReportedOptOuts(
  store: Pick<Store, 'getMessage' | 'recipientIndexOf' | 'latestMessagesTo' | 'recordOptOuts'> & Subscribers,
  tenantId: number,
  reported: ReportedOptOut[],
  now: number,
  naming: (index: number) => string,
): Promise<ReportedOutcome> {
  const planned = await planOptOuts(store, tenantId, reported, now, naming)
  const webhookIds = await unsubscribeWebhooks(store, tenantId)
  const outcome: ReportedOutcome = {
    received: reported.length,
    added: 0,
    alreadyOptedOut: 0,
    counted: 0,
    unknownRecipients: [],
    entries: [],
  }
  const unknown = new Set<string>()
  await inSlices(planned, ENTRIES_PER_SLICE, async (slice) => {
    const writes: OptOutWrite[] = slice.map((plan) => ({
      ...plan,
      events: listEvents(webhookIds, {
        type: 'unsubscribe',
        recipientId: plan.recipientId,
        message: plan.message?.publicId ?? null,
        source: plan.source,
        at: plan.at,
      }),
    }))
    const results = await store.recordOptOuts(writes)
    results.forEach(({ listed, counted }, i) => {
      const write = writes[i]!
      if (listed) outcome.added++
      else outcome.alreadyOptedOut++
      if (counted) outcome.counted++
      if (write.message === null) unknown.add(write.recipientId)
      outcome.entries.push({
        recipient: write.recipientId,
        messageId: write.message?.publicId ?? null,
        added: listed,
        counted,
      })
    })
  })
  outcome.unknownRecipients = [...unknown]
  return outcome
}

type PlannedOptOut = Omit<OptOutWrite, 'events'>

/** Checks every entry and finds the message each answers; throws a 400 naming the first bad entry. */
async function planOptOuts(
  store: Pick<Store, 'getMessage' | 'recipientIndexOf' | 'latestMessagesTo'>,
  tenantId: number,
  reported: ReportedOptOut[],
  now: number,
  naming: (index: number) => string,
): Promise<PlannedOptOut[]> {
  const times = reported.map((entry, i) => {
    const at = Date.parse(entry.at)
    if (Number.isNaN(at)) throw new ApiError(400, 'invalid_time', `${naming(i)}: at must be an ISO 8601 time`)
    if (at > now + CLOCK_SKEW_MS) {
      throw new ApiError(400, 'invalid_time', `${naming(i)}: at ${entry.at} is in the future; give when it happened`)
    }
    return at
  })
  const messages = new Map<string, Message | null>()
  const planned: PlannedOptOut[] = new Array(reported.length)
  const indexes = reported.map((_entry, i) => i)
  await inSlices(indexes, ENTRIES_PER_SLICE, async (slice) => {
    const latest: number[] = []
    for (const i of slice) {
      const entry = reported[i]!
      const base = { tenantId, recipientId: entry.recipient, source: entry.source, at: times[i]! }
      if (entry.messageId === undefined) {
        latest.push(i)
        planned[i] = { ...base, message: null }
        continue
      }
      planned[i] = { ...base, message: await namedMessage(store, tenantId, messages, entry, naming(i)) }
    }
    const found = await store.latestMessagesTo(
      tenantId,
      latest.map((i) => ({ recipientId: reported[i]!.recipient, before: times[i]! })),
    )
    latest.forEach((i, n) => (planned[i]!.message = found[n] ?? null))
  })
  return planned
}

async function namedMessage(
  store: Pick<Store, 'getMessage' | 'recipientIndexOf'>,
  tenantId: number,
  messages: Map<string, Message | null>,
  entry: ReportedOptOut,
  name: string,
): Promise<AnsweredMessage> {
  const publicId = entry.messageId!
  if (!messages.has(publicId)) messages.set(publicId, await store.getMessage(tenantId, publicId))
  const message = messages.get(publicId)
  if (!message) {
    throw new ApiError(400, 'unknown_message', `${name}: messageId ${publicId} is not one of this tenant's messages`)
  }
  const recipientIdx = await store.recipientIndexOf(message.id, entry.recipient)
  if (recipientIdx === null) {
    throw new ApiError(
      400,
      'not_a_recipient',
      `${name}: ${entry.recipient} is not a recipient of ${publicId}; leave messageId out to use their latest message`,
    )
  }
  return { messageId: message.id, publicId, recipientIdx }
}

/**
 * A recipient opted back in with the sender: taken off the tenant's list, the change
 * kept in the feed and sent to `unsubscribe` webhooks as a `resubscribe` event.
 * An erased recipient is found by its suppression key. False when the recipient is
 * not on the list.
 */
export async function resubscribe(
  { store, suppressionKeys }: { store: Store; suppressionKeys: SuppressionKeys },
  tenantId: number,
  recipientId: string,
  at: number,
): Promise<boolean> {
  const webhookIds = await unsubscribeWebhooks(store, tenantId)
  const attempt = (id: string) =>
    store.resubscribe({
      tenantId,
      recipientId: id,
      at,
      events: listEvents(webhookIds, { type: 'resubscribe', recipientId: id, message: null, source: null, at }),
    })
  if (await attempt(recipientId)) return true
  return (await store.hasErasedOptOuts(tenantId)) && attempt(suppressionKeys.keyFor(tenantId, recipientId))
}
