import type { ClickRow } from '../click.js'
import type { ClickMessageFacts, MessageStore, NewWebhookEvent } from '../db/store.js'
import { newWebhookEventId, webhookEventBody } from '../webhook-event.js'

/**
 * The `click` events a batch raises: one per click and webhook of its tenant that
 * subscribed to clicks, written to the outbox in the click batch's transaction
 * (ADR 0031). What a body needs (link, recipient id) is read once per batch, and only
 * for clicks of subscribed tenants. `subscribers` is what `subscribedWebhooks('click')`
 * answered: the caller reads it beside the batch's other reads.
 */
export async function clickEvents(
  store: Pick<MessageStore, 'recipientIdsAt' | 'linkSummaries'>,
  clicks: ClickRow[],
  facts: Map<number, ClickMessageFacts>,
  subscribers: Map<number, number[]>,
): Promise<NewWebhookEvent[]> {
  if (subscribers.size === 0) return []
  const wanted: Array<{ click: ClickRow; message: ClickMessageFacts; webhookIds: number[] }> = []
  const linkIds = new Set<number>()
  const recipients = new Map<number, Set<number>>()
  for (const click of clicks) {
    const message = facts.get(click.messageId)
    const webhookIds = message && subscribers.get(message.tenantId)
    if (!message || !webhookIds) continue
    wanted.push({ click, message, webhookIds })
    linkIds.add(click.linkId)
    if (click.recipientIdx === null) continue
    let indexes = recipients.get(click.messageId)
    if (!indexes) recipients.set(click.messageId, (indexes = new Set()))
    indexes.add(click.recipientIdx)
  }
  if (wanted.length === 0) return []
  const links = await store.linkSummaries([...linkIds])
  const recipientIds = new Map<number, Map<number, string>>()
  for (const [messageId, indexes] of recipients) {
    recipientIds.set(messageId, await store.recipientIdsAt(messageId, [...indexes]))
  }
  const events: NewWebhookEvent[] = []
  for (const { click, message, webhookIds } of wanted) {
    const link = links.get(click.linkId)
    const recipientId =
      click.recipientIdx === null ? null : (recipientIds.get(click.messageId)?.get(click.recipientIdx) ?? null)
    for (const webhookId of webhookIds) {
      const id = newWebhookEventId()
      const body = webhookEventBody({
        id,
        type: 'click',
        at: click.at,
        messagePublicId: message.publicId,
        recipientId,
        link: link ? { id: link.publicId, url: link.url } : null,
        click: { class: click.class, reason: click.reason },
      })
      events.push({ publicId: id, webhookId, type: 'click', body, at: click.at })
    }
  }
  return events
}
