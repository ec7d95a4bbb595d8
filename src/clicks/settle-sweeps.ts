/**
 * The settle pass (docs/adr/0084): clicks the sweep rule judges count only once it
 * has given them their final verdict, in one transaction per pass.
 */
import type { ClickRow } from '../click.js'
import type {
  ClickMessageFacts,
  ClickSettlement,
  ClickStore,
  DueFetch,
  EarlierFirstClick,
  MessageStore,
  WebhookStore,
} from '../db/store.js'
import { firstClickBucket } from '../first-click-delay.js'
import { clickEvents } from '../webhooks/click-events.js'
import { deliveryTimes, planClickWrite, type ClickTimingRules } from './click-batch.js'
import { NEIGHBOURS_EACH_SIDE, sweepsAt } from './sweep-rule.js'
import { describeUserAgent } from './user-agent-details.js'

/** Fetches settled per pass at most; a larger backlog takes several passes. */
export const SETTLE_BATCH = 5_000

/** The reads and the write a settle pass needs of a store. */
export type SettleStore = Pick<
  ClickStore,
  | 'dueSweepFetches'
  | 'sweepNeighbours'
  | 'firstClickTimes'
  | 'settleClicks'
  | 'clickMessageFacts'
  | 'recipientsDeliveredAt'
> &
  Pick<MessageStore, 'recipientIdsAt' | 'linkSummaries'> &
  Pick<WebhookStore, 'subscribedWebhooks'>

/**
 * Settles the judged clicks made before `before` (at most SETTLE_BATCH, oldest first):
 * each gets its final verdict — sweep, else too_fast, else burst, else human — and what
 * it counts is applied in one transaction. `before` must leave `spanMs` for the fetches
 * after them to be written. With the rule turned off, clicks judged while it was on
 * settle without it. Returns how many were settled.
 */
export async function settleSweeps(store: SettleStore, before: number, rules: ClickTimingRules): Promise<number> {
  // A pass that loses a race with another instance's reads the fetches again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const due = await store.dueSweepFetches(before, SETTLE_BATCH)
    if (due.length === 0) return 0
    if (await store.settleClicks(await planSettlement(store, due, before, rules))) return due.length
  }
  return 0
}

async function planSettlement(
  store: SettleStore,
  due: DueFetch[],
  before: number,
  rules: ClickTimingRules,
): Promise<ClickSettlement> {
  const settings = rules.sweep
  const swept = new Set<number>()
  const groups = new Map<string, DueFetch[]>()
  for (const fetch of due) {
    const key = `${fetch.messageId}:${fetch.identity}`
    const group = groups.get(key)
    if (group) group.push(fetch)
    else groups.set(key, [fetch])
  }
  if (settings) {
    // The neighbours of every identity of a message in one read: a pass may hold
    // thousands of identities (each person is one), and on PostgreSQL each read is a
    // round trip.
    const byMessage = new Map<number, DueFetch[][]>()
    for (const group of groups.values()) {
      const groupsOfMessage = byMessage.get(group[0]!.messageId)
      if (groupsOfMessage) groupsOfMessage.push(group)
      else byMessage.set(group[0]!.messageId, [group])
    }
    for (const [messageId, messageGroups] of byMessage) {
      const ats = messageGroups.flatMap((group) => group.map((fetch) => fetch.at))
      // sweepsAt looks at NEIGHBOURS_EACH_SIDE fetches either side of each one at most.
      const rows = await store.sweepNeighbours(
        messageId,
        messageGroups.map((group) => group[0]!.identity),
        {
          first: Math.min(...ats),
          last: Math.max(...ats),
          spanMs: settings.spanMs,
          nearest: NEIGHBOURS_EACH_SIDE + 1,
        },
      )
      const neighbours = new Map<string, Array<{ recipientIdx: number; at: number }>>()
      for (const row of rows) {
        const list = neighbours.get(row.identity)
        if (list) list.push(row)
        else neighbours.set(row.identity, [row])
      }
      for (const group of messageGroups) {
        const verdicts = sweepsAt(
          neighbours.get(group[0]!.identity) ?? [],
          group.map((fetch) => fetch.at),
          settings,
        )
        group.forEach((fetch, i) => verdicts[i] && swept.add(fetch.id))
      }
    }
  }
  // In the order made, so that burst keeps the first network's fetch, as at write time.
  const rows = due.map((fetch) => settledRow(fetch, swept.has(fetch.id)))
  const facts = await store.clickMessageFacts([...new Set(due.map((fetch) => fetch.messageId))])
  const timing = { tooFastMs: rules.tooFastMs, isBurst: rules.isBurst.bind(rules) }
  const deliveredAt = timing.tooFastMs > 0 ? await deliveryTimes(store, rows, facts, timing) : null
  const write = planClickWrite(rows, facts, timing, deliveredAt)
  write.events = await clickEvents(store, write.clicks, facts, await store.subscribedWebhooks('click'))
  const verdicts: ClickSettlement['verdicts'] = []
  write.clicks.forEach((click, i) => {
    if (click.class !== 'human')
      verdicts.push({ id: due[i]!.id, class: click.class, reason: click.reason ?? 'unknown' })
  })
  write.clicks = []
  return {
    settled: due.map((fetch) => fetch.id),
    verdicts,
    write,
    earlierFirstClicks: await earlierFirstClicks(store, write.firstClicks, facts),
    forgetBefore: before - 2 * (settings?.spanMs ?? 0),
  }
}

/** A judged click as the click rules see it: a sweep, or human for too_fast and burst to judge. */
function settledRow(fetch: DueFetch, sweep: boolean): ClickRow {
  const details = sweep ? null : describeUserAgent(fetch.userAgent)
  return {
    at: fetch.at,
    messageId: fetch.messageId,
    linkId: fetch.linkId,
    recipientIdx: fetch.recipientIdx,
    class: sweep ? 'bot' : 'human',
    reason: sweep ? 'sweep' : null,
    userAgent: fetch.userAgent,
    network: fetch.network,
    clickId: fetch.clickId,
    device: details?.device ?? null,
    os: details?.os ?? null,
    browser: details?.browser ?? null,
  }
}

/**
 * Takes out of `firstClicks` those earlier than the recipient's stored first click (a
 * later tap, not judged, written before this one settled) and returns them as
 * replacements of it.
 */
async function earlierFirstClicks(
  store: SettleStore,
  firstClicks: ClickSettlement['write']['firstClicks'],
  facts: Map<number, ClickMessageFacts>,
): Promise<EarlierFirstClick[]> {
  const byMessage = new Map<number, number[]>()
  for (const first of firstClicks) {
    const idxs = byMessage.get(first.messageId)
    if (idxs) idxs.push(first.recipientIdx)
    else byMessage.set(first.messageId, [first.recipientIdx])
  }
  const stored = new Map<number, Map<number, number>>()
  for (const [messageId, idxs] of byMessage) stored.set(messageId, await store.firstClickTimes(messageId, idxs))
  const earlier: EarlierFirstClick[] = []
  for (let i = firstClicks.length - 1; i >= 0; i--) {
    const first = firstClicks[i]!
    const storedAt = stored.get(first.messageId)?.get(first.recipientIdx)
    if (storedAt === undefined || storedAt <= first.at) continue
    const createdAt = facts.get(first.messageId)?.createdAt ?? first.at
    earlier.push({
      messageId: first.messageId,
      recipientIdx: first.recipientIdx,
      storedAt,
      storedBucket: String(firstClickBucket(storedAt - createdAt)),
      at: first.at,
      lastAt: first.lastAt,
      delayBucket: first.delayBucket,
    })
    firstClicks.splice(i, 1)
  }
  return earlier
}
