import { customAlphabet } from 'nanoid'
import type { Store, Webhook, WebhookEventType } from '../db/store.js'
import { ApiError, notFound } from '../errors.js'
import { BASE62 } from '../base62.js'
import { normalizeDestination } from '../destination.js'
import { newPublicId } from '../ids.js'
import { receiverAddress, RefusedReceiver, type ReceiverPolicy } from './receiver-address.js'

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

/** How long registration waits for the receiver's host to resolve. */
const RESOLVE_WAIT_MS = 5_000

/**
 * Checks a webhook URL before it is stored: https (unless allowed otherwise), and a
 * host that is, or resolves to, public addresses only (422). A name that does not
 * resolve (yet) is accepted: it reaches nobody, and every delivery checks again on
 * the address it connects to, since DNS can change after registration anyway.
 */
export async function checkWebhookUrl(input: string, policy: ReceiverPolicy): Promise<string> {
  const url = normalizeDestination(input, 'url')
  let timer: NodeJS.Timeout | undefined
  const checking = receiverAddress(new URL(url), policy)
  // A check still running when the wait ends must not become an unhandled rejection.
  checking.catch(() => {})
  try {
    await Promise.race([checking, new Promise((resolve) => (timer = setTimeout(resolve, RESOLVE_WAIT_MS)))])
  } catch (err) {
    if (!(err instanceof RefusedReceiver)) return url
    const code = url.startsWith('http:') && !policy.allowHttp ? 'webhook_url_not_https' : 'webhook_url_not_public'
    throw new ApiError(422, code, err.message)
  } finally {
    clearTimeout(timer)
  }
  return url
}

/** Registers a webhook; the signing secret is returned here and never again. */
export async function createWebhook(
  store: Store,
  policy: ReceiverPolicy,
  tenantId: number,
  input: { url: string; events: WebhookEventType[] },
) {
  const url = await checkWebhookUrl(input.url, policy)
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
