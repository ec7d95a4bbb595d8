import { customAlphabet } from 'nanoid'
import type { Store, Webhook, WebhookEventType } from '../db/store.js'
import { ApiError, notFound } from '../errors.js'
import { BASE62 } from '../base62.js'
import { normalizeDestination } from '../destination.js'
import { newPublicId } from '../ids.js'

/** Webhooks a tenant may have at once; each one multiplies the outbox writes per event. */
export const MAX_WEBHOOKS_PER_TENANT = 10

const secretPart = customAlphabet(BASE62, 40)

function present(webhook: Webhook) {
  return {
    id: webhook.publicId,
    url: webhook.url,
    events: webhook.events,
    createdAt: new Date(webhook.createdAt).toISOString(),
  }
}

/** Registers a webhook; the signing secret is returned here and never again. */
export async function createWebhook(
  store: Store,
  tenantId: number,
  input: { url: string; events: WebhookEventType[] },
) {
  const url = normalizeDestination(input.url, 'url')
  if ((await store.listWebhooks(tenantId)).length >= MAX_WEBHOOKS_PER_TENANT) {
    throw new ApiError(
      409,
      'webhook_limit',
      `a tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks: delete one first`,
    )
  }
  const secret = `whsec_${secretPart()}`
  const webhook = await store.createWebhook({
    publicId: `whk_${newPublicId()}`,
    tenantId,
    url,
    events: [...new Set(input.events)],
    secret,
    createdAt: Date.now(),
  })
  return { ...present(webhook), secret }
}

export async function listWebhooks(store: Store, tenantId: number) {
  return { webhooks: (await store.listWebhooks(tenantId)).map(present) }
}

/** Deletes a webhook; its undelivered events are cancelled. */
export async function deleteWebhook(store: Store, tenantId: number, publicId: string): Promise<void> {
  if (!(await store.deleteWebhook(tenantId, publicId, Date.now()))) throw notFound('webhook')
}

/** A webhook's latest delivery attempts, newest first. */
export async function webhookDeliveries(store: Store, tenantId: number, publicId: string, limit: number) {
  const webhook = await store.getWebhook(tenantId, publicId)
  if (!webhook) throw notFound('webhook')
  const attempts = await store.webhookAttempts(webhook.id, limit)
  return {
    deliveries: attempts.map((attempt) => ({
      eventId: attempt.eventPublicId,
      type: attempt.type,
      attempt: attempt.attempt,
      at: new Date(attempt.at).toISOString(),
      statusCode: attempt.statusCode,
      error: attempt.error,
      outcome: attempt.outcome,
    })),
  }
}
