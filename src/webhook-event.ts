/**
 * The one shape of a webhook event's body, built where the event is queued: the
 * click rules (src/webhooks/click-events.ts) and the opt-out rules
 * (src/unsubscribe/record-optouts.ts). A neutral module.
 */
import { customAlphabet } from 'nanoid'
import { BASE62 } from './base62.js'
import type { ClickClass } from './click.js'
import type { OptOutSource } from './db/store.js'

const eventIdSuffix = customAlphabet(BASE62, 20)

/** Event ids: `evt_` and 20 base62 characters, unique across webhooks and restarts. */
export function newWebhookEventId(): string {
  return `evt_${eventIdSuffix()}`
}

export interface WebhookEventFields {
  id: string
  type: 'click' | 'unsubscribe' | 'resubscribe'
  at: number
  /** Null for an opt-out or re-subscribe that answers no message. */
  messagePublicId: string | null
  recipientId: string | null
  /** How an opt-out came (null for a re-subscribe); not part of a click's body. */
  source?: OptOutSource | null
  /** The clicked link; null for an unsubscribe. */
  link: { id: string; url: string } | null
  /** How the click was judged; null for an unsubscribe. */
  click: { class: ClickClass; reason: string | null } | null
}

/** The JSON body receivers get, as the webhook registration's OpenAPI description (src/routes/webhooks.ts) states it. */
export function webhookEventBody(event: WebhookEventFields): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    time: new Date(event.at).toISOString(),
    messageId: event.messagePublicId,
    recipientId: event.recipientId,
    link: event.link,
    click: event.click,
    ...(event.type === 'click' ? {} : { source: event.source ?? null }),
  })
}
