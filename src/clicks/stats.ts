import type { ClickCounters, Message, Store } from '../db/store.js'

export interface MessageStats {
  id: string
  recipients: number
  /** Recipients whose latest delivery report is delivered; null while no report has come. */
  delivered: number | null
  /** Recipients whose latest delivery report is failed; null while no report has come. */
  failed: number | null
  /** delivered ÷ recipients, 4 places; null while no report has come. */
  deliveryRate: number | null
  clicks: ClickCounters
  /** Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), 4 places. */
  ctr: number | null
  unsubscribes: { linkVisits: number; confirmed: number }
  /** Confirmed opt-outs ÷ the same denominator as ctr, 4 places. */
  unsubscribeRate: number | null
  links: Array<{ id: string; url: string; clicks: ClickCounters }>
}

export function rate(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null
}

/** A message's figures, read from its counters: constant time however many clicks it has. */
export async function messageStats(store: Store, message: Message): Promise<MessageStats> {
  const counters = await store.messageCounters(message.id)
  const { deliveries } = counters
  // Any report leaves a recipient delivered or failed, so an empty sum means "none came".
  const reported = deliveries.delivered + deliveries.failed > 0
  const delivered = reported ? deliveries.delivered : null
  const denominator = delivered ?? message.recipientCount
  const clicksByLink = new Map(counters.links.map((link) => [link.linkId, link.clicks]))
  return {
    id: message.publicId,
    recipients: message.recipientCount,
    delivered,
    failed: reported ? deliveries.failed : null,
    deliveryRate: reported ? rate(deliveries.delivered, message.recipientCount) : null,
    clicks: counters.clicks,
    ctr: rate(counters.clicks.unique, denominator),
    unsubscribes: counters.unsubscribes,
    unsubscribeRate: rate(counters.unsubscribes.confirmed, denominator),
    links: message.links.map((link) => ({
      id: link.publicId,
      url: link.url,
      clicks: clicksByLink.get(link.id) ?? { total: 0, unique: 0, bots: 0 },
    })),
  }
}
