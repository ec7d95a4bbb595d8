import { ApiError, notFound } from '../errors.js'
import type { MessageKind, MessageTotals, Store } from '../db/store.js'
import { rate, unsubscribesInAll } from '../clicks/stats.js'
import { CTR_BANDS, positionIn } from './benchmarks.js'

/**
 * Figures of a set of messages from their summed counters. CTR is unique clickers ÷
 * reach, reach being each message's own denominator (delivered once reports came,
 * recipients before), so messages with and without delivery reports mix fairly.
 */
function present(totals: MessageTotals, kind: MessageKind | null) {
  const ctr = rate(totals.uniqueClickers, totals.reach)
  const band = kind === null ? null : CTR_BANDS[kind]
  return {
    messages: totals.messages,
    recipients: totals.recipients,
    delivered: totals.reportedMessages > 0 ? totals.delivered : null,
    uniqueClickers: totals.uniqueClickers,
    ctr,
    unsubscribes: unsubscribesInAll(totals.unsubscribes),
    unsubscribesBySource: totals.unsubscribes,
    unsubscribeRate: rate(unsubscribesInAll(totals.unsubscribes), totals.reach),
    benchmark: band === null ? null : { ctrFrom: band.from, ctrTo: band.to, source: band.source },
    position: positionIn(band, ctr),
  }
}

/** All of a tenant's messages with this campaign name; the band of their kind when they share one. */
export async function campaignRollUp(store: Store, tenantId: number, campaign: string) {
  const totals = await store.campaignTotals(tenantId, campaign)
  if (totals.messages === 0) throw notFound('campaign')
  return { campaign, kind: totals.kind, ...present(totals, totals.kind) }
}

/** A tenant's messages of one kind created in [from, to); both ends optional. */
export async function kindRollUp(store: Store, tenantId: number, kind: MessageKind, from?: string, to?: string) {
  const start = from === undefined ? 0 : Date.parse(from)
  const end = to === undefined ? Number.MAX_SAFE_INTEGER : Date.parse(to)
  if (end <= start) throw new ApiError(400, 'invalid_range', 'to must be later than from')
  const totals = await store.kindTotals(tenantId, kind, start, end)
  return {
    kind,
    from: from === undefined ? null : new Date(start).toISOString(),
    to: to === undefined ? null : new Date(end).toISOString(),
    ...present(totals, kind),
  }
}
