import type { ClickCounters, Message, Store } from '../db/store.js'

export interface MessageStats {
  id: string
  recipients: number
  /** Recipients with a delivery report; null while none has come. */
  delivered: number | null
  clicks: ClickCounters
  /** Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), 4 places. */
  ctr: number | null
  links: Array<{ id: string; url: string; clicks: ClickCounters }>
}

export function rate(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null
}

/** A message's figures, read from its counters: constant time however many clicks it has. */
export async function messageStats(store: Store, message: Message): Promise<MessageStats> {
  const counters = await store.messageCounters(message.id)
  const delivered = null
  const clicksByLink = new Map(counters.links.map((link) => [link.linkId, link.clicks]))
  return {
    id: message.publicId,
    recipients: message.recipientCount,
    delivered,
    clicks: counters.clicks,
    ctr: rate(counters.clicks.unique, delivered ?? message.recipientCount),
    links: message.links.map((link) => ({
      id: link.publicId,
      url: link.url,
      clicks: clicksByLink.get(link.id) ?? { total: 0, unique: 0, bots: 0 },
    })),
  }
}
