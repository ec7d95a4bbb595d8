import type { BreakdownCount, ClickCounters, Message, MessageCounters, Store, UnsubscribeCounts } from '../db/store.js'
import { CLICK_REASONS, type ClickReason } from './classify.js'
import { quantileSeconds } from '../first-click-delay.js'

export interface MessageClickStats extends ClickCounters {
  /** Clicks made within SWEEP_WINDOW_MS of sending whose verdict is not final yet; counted in no other figure until it is. */
  pending: number
  /** Clicks that are not human, per reason; every reason listed, zeros included. */
  byReason: Record<ClickReason, number>
}

export interface Breakdowns {
  /** Human clicks per device type, OS and browser (ua-parser-js). */
  device: Record<string, number>
  os: Record<string, number>
  browser: Record<string, number>
  /** Human clicks per hour of day, UTC: index 0 is 00:00–00:59. */
  hourOfDay: number[]
  /** Human clicks per whole day since the message was created, days without clicks left out. */
  daySinceSending: Array<{ day: number; clicks: number }>
  /** From the message's creation to each recipient's first human click (bucketed, see src/first-click-delay.ts). */
  timeToFirstClick: { recipients: number; medianSeconds: number | null; p90Seconds: number | null }
}

export interface MessageStats {
  id: string
  recipients: number
  /** Recipients whose latest delivery report is delivered; null while no report has come. */
  delivered: number | null
  /** Recipients whose latest delivery report is failed; null while no report has come. */
  failed: number | null
  /** delivered ÷ recipients, 4 places; null while no report has come. */
  deliveryRate: number | null
  clicks: MessageClickStats
  /** Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), 4 places. */
  ctr: number | null
  unsubscribes: {
    linkVisits: number
    /** Confirmations on the unsubscribe page (bySource.link), as before channels were counted. */
    confirmed: number
    /** Recipients who opted out of this message by any channel. */
    total: number
    bySource: UnsubscribeCounts
  }
  /** Opt-outs by every channel ÷ the same denominator as ctr, 4 places. */
  unsubscribeRate: number | null
  links: Array<{ id: string; url: string; clicks: ClickCounters }>
  breakdowns: Breakdowns
  /** Conversions attributed to the message (POST /v1/conversions). */
  conversions: number
  /** conversions ÷ unique clickers, 4 places; null without clickers. */
  conversionRate: number | null
  /** Attributed conversion value per currency. */
  revenue: Record<string, number>
}

export function rate(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null
}

const NO_CLICKS: ClickCounters = { total: 0, unique: 0, bots: 0, previews: 0 }

/** Turns the counted rows of message_breakdowns into the figures stats show. */
export function presentBreakdowns(rows: BreakdownCount[]): Breakdowns {
  const result: Breakdowns = {
    device: {},
    os: {},
    browser: {},
    hourOfDay: new Array<number>(24).fill(0),
    daySinceSending: [],
    timeToFirstClick: { recipients: 0, medianSeconds: null, p90Seconds: null },
  }
  const firstClicks = new Map<number, number>()
  for (const { dimension, value, clicks } of rows) {
    switch (dimension) {
      case 'device':
      case 'os':
      case 'browser':
        result[dimension][value] = clicks
        break
      case 'hour':
        result.hourOfDay[Number(value)] = clicks
        break
      case 'day':
        result.daySinceSending.push({ day: Number(value), clicks })
        break
      case 'first_click':
        firstClicks.set(Number(value), clicks)
        result.timeToFirstClick.recipients += clicks
        break
    }
  }
  result.daySinceSending.sort((a, b) => a.day - b.day)
  result.timeToFirstClick.medianSeconds = quantileSeconds(firstClicks, 0.5)
  result.timeToFirstClick.p90Seconds = quantileSeconds(firstClicks, 0.9)
  return result
}

/** A message's figures, read from its counters: constant time however many clicks it has. */
export async function messageStats(store: Store, message: Message): Promise<MessageStats> {
  return statsFromCounters(message, await store.messageCounters(message.id))
}

/** Opt-outs by every channel: what the unsubscribe rate counts. */
export const unsubscribesInAll = (bySource: UnsubscribeCounts): number =>
  bySource.link + bySource.reply + bySource.import + bySource.support

/** The figures of a message from its counters as read (for pages that use the counters for more). */
export function statsFromCounters(message: Message, counters: MessageCounters): MessageStats {
  const { deliveries } = counters
  // Any report leaves a recipient delivered or failed, so an empty sum means "none came".
  const reported = deliveries.delivered + deliveries.failed > 0
  const delivered = reported ? deliveries.delivered : null
  const denominator = delivered ?? message.recipientCount
  const clicksByLink = new Map(counters.links.map((link) => [link.linkId, link.clicks]))
  const byReason = Object.fromEntries(
    CLICK_REASONS.map((reason) => [reason, counters.byReason[reason] ?? 0]),
  ) as Record<ClickReason, number>
  return {
    id: message.publicId,
    recipients: message.recipientCount,
    delivered,
    failed: reported ? deliveries.failed : null,
    deliveryRate: reported ? rate(deliveries.delivered, message.recipientCount) : null,
    clicks: { ...counters.clicks, pending: counters.pendingClicks, byReason },
    ctr: rate(counters.clicks.unique, denominator),
    unsubscribes: {
      linkVisits: counters.unsubscribes.linkVisits,
      confirmed: counters.unsubscribes.bySource.link,
      total: unsubscribesInAll(counters.unsubscribes.bySource),
      bySource: counters.unsubscribes.bySource,
    },
    unsubscribeRate: rate(unsubscribesInAll(counters.unsubscribes.bySource), denominator),
    links: message.links.map((link) => ({
      id: link.publicId,
      url: link.url,
      clicks: clicksByLink.get(link.id) ?? NO_CLICKS,
    })),
    breakdowns: presentBreakdowns(counters.breakdowns),
    conversions: counters.conversions,
    conversionRate: rate(counters.conversions, counters.clicks.unique),
    // Sums of REALs: rounded so that 0.1 + 0.2 shows as 0.3.
    revenue: Object.fromEntries(
      Object.entries(counters.revenue).map(([currency, amount]) => [currency, Math.round(amount * 1e6) / 1e6]),
    ),
  }
}
