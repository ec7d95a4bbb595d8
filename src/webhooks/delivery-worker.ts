import type { FastifyBaseLogger } from 'fastify'
import type { DueWebhookEvent, Store } from '../db/store.js'
import { untracked, type TrackWork } from '../loop-watch.js'
import { DeliveryError, postWebhook, type PostLimits } from './post-webhook.js'
import { RefusedReceiver, type ReceiverPolicy } from './receiver-address.js'
import { signWebhookBody, standardWebhookHeaders } from './signature.js'

export interface WebhookDeliveryOptions extends PostLimits {
  pollIntervalMs: number
  retryBaseMs: number
  retryMaxMs: number
  giveUpAfterMs: number
  /** Deliveries in flight at once per tenant. */
  concurrencyPerTenant: number
  /** Names the outbox rounds for the event-loop watch (the posts themselves wait on the network). */
  track?: TrackWork
}

/** Deliveries in flight at most, all tenants together. */
const MAX_IN_FLIGHT = 50
/** Stored error texts are cut to this length. */
const ERROR_LENGTH = 300
/**
 * A claimed event is held this much longer than a post may take: time to resolve the
 * receiver and store the outcome. Only an instance that dies mid-post makes anyone wait
 * for it; then another instance attempts the event again when it ends.
 */
const LEASE_MARGIN_MS = 30_000

/**
 * Delivers the webhook outbox: every poll interval (and whenever a delivery ends) it
 * takes the due events and starts a delivery for each, at most
 * `concurrencyPerTenant` per tenant and MAX_IN_FLIGHT in all, so one tenant's slow
 * receiver holds back only that tenant's events. Events are claimed before they are
 * posted (Store.claimWebhookEvents), so instances sharing a database never post the
 * same event at the same time; those there is no room for are given back at once.
 * Each post is signed, goes only to a checked public address (receiver-address.ts)
 * and is bounded in time and bytes (post-webhook.ts). A 2xx answer delivers an
 * event; anything else (another status, a redirect, a timeout, a refused connection or
 * address) schedules a retry with exponential backoff and jitter, until the event is
 * older than giveUpAfterMs, when it is marked failed. At-least-once: an event is
 * pending until a 2xx is stored, so a crash between the post and the store sends it
 * again (same id), once its claim has run out. Runs in this process, off every
 * request path.
 */
export class WebhookDeliveryWorker {
  private timer: NodeJS.Timeout | null = null
  private stopped = true
  private round: Promise<void> | null = null
  /** A round was asked for while one ran: run another right after it. */
  private again = false
  private readonly abort = new AbortController()
  private readonly inFlight = new Map<number, Promise<void>>()
  private readonly perTenant = new Map<number, number>()
  /** Claimed events whose posts stop() abandoned: given back so that a restart posts them at once. */
  private readonly abandoned: Array<{ id: number; leaseUntil: number }> = []

  constructor(
    private readonly store: Store,
    private readonly options: WebhookDeliveryOptions,
    private readonly policy: ReceiverPolicy,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule(0)
  }

  /** Stops polling and abandons posts in flight; they stay pending and go out after a restart. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.abort.abort()
    await this.round
    await Promise.all(this.inFlight.values())
    const now = Date.now()
    for (const { id, leaseUntil } of this.abandoned.splice(0)) {
      await this.store
        .releaseWebhookEvents([id], leaseUntil, now)
        .catch((err: unknown) => this.log.warn({ err }, 'an abandoned webhook event waits for its claim to end'))
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.round = (this.options.track ?? untracked)('webhook outbox', () => this.runRound())
        .catch((err: unknown) => this.log.error({ err }, 'webhook delivery round failed; will retry'))
        .then(() => {
          this.round = null
          this.schedule(this.again ? 0 : this.options.pollIntervalMs)
          this.again = false
        })
    }, delayMs).unref()
  }

  /** Looks for due events at once (after the round running now, if any). */
  private wake(): void {
    if (this.stopped) return
    if (this.round !== null) this.again = true
    else this.schedule(0)
  }

  /**
   * One round: starts a delivery for each due event there is room for. Events left
   * waiting are taken by the round that the end of a delivery starts.
   */
  private async runRound(): Promise<void> {
    const limit = this.options.concurrencyPerTenant
    const full = [...this.perTenant].filter(([, count]) => count >= limit).map(([tenant]) => tenant)
    const room = MAX_IN_FLIGHT - this.inFlight.size
    if (room <= 0) return
    const now = Date.now()
    const leaseUntil = now + this.options.timeoutMs + LEASE_MARGIN_MS
    const claimed = await this.store.claimWebhookEvents(now, leaseUntil, room, full)
    const unstarted: number[] = []
    for (const event of claimed) {
      // Still in flight here after its claim ran out: the post under way settles it.
      if (this.inFlight.has(event.id)) continue
      if (this.stopped || (this.perTenant.get(event.tenantId) ?? 0) >= limit) {
        unstarted.push(event.id)
        continue
      }
      this.perTenant.set(event.tenantId, (this.perTenant.get(event.tenantId) ?? 0) + 1)
      const delivery = this.deliver(event, leaseUntil)
        .catch((err: unknown) => this.log.error({ err, event: event.publicId }, 'webhook delivery not recorded'))
        .finally(() => {
          this.inFlight.delete(event.id)
          const count = (this.perTenant.get(event.tenantId) ?? 1) - 1
          if (count === 0) this.perTenant.delete(event.tenantId)
          else this.perTenant.set(event.tenantId, count)
          this.wake()
        })
      this.inFlight.set(event.id, delivery)
    }
    if (unstarted.length > 0) await this.store.releaseWebhookEvents(unstarted, leaseUntil, Date.now())
  }

  private async deliver(event: DueWebhookEvent, leaseUntil: number): Promise<void> {
    let statusCode: number | null = null
    let error: string | null = null
    const now = Math.floor(Date.now() / 1000)
    try {
      statusCode = await postWebhook(
        new URL(event.url),
        {
          'content-type': 'application/json',
          'user-agent': 'smslinks-webhooks',
          'smslinks-event-id': event.publicId,
          'smslinks-signature': signWebhookBody(event.secret, event.body, now),
          ...standardWebhookHeaders(event.secret, event.publicId, event.body, now),
        },
        event.body,
        this.options,
        this.policy,
        this.abort.signal,
      )
      if (statusCode < 200 || statusCode > 299) error = `answered HTTP ${statusCode}`
    } catch (err) {
      if (this.abort.signal.aborted) {
        this.abandoned.push({ id: event.id, leaseUntil })
        return
      }
      error = describe(err)
    }
    const at = Date.now()
    const attempt = event.attempts + 1
    const outcome =
      error === null ? 'delivered' : at - event.createdAt >= this.options.giveUpAfterMs ? 'failed' : 'retrying'
    if (outcome === 'failed') {
      this.log.warn({ event: event.publicId, attempts: attempt, error }, 'webhook event given up after retrying')
    }
    await this.store.recordWebhookAttempt({
      eventId: event.id,
      webhookId: event.webhookId,
      at,
      statusCode,
      error,
      outcome,
      nextAttemptAt: outcome === 'retrying' ? at + this.backoff(attempt) : null,
    })
  }

  /** Wait after the n-th failed attempt: base × 2^(n−1), capped, half of it random. */
  private backoff(attempt: number): number {
    const full = Math.min(this.options.retryBaseMs * 2 ** Math.min(attempt - 1, 40), this.options.retryMaxMs)
    return Math.round(full / 2 + Math.random() * (full / 2))
  }
}

function describe(err: unknown): string {
  if (err instanceof RefusedReceiver) return `refused: ${err.message}`.slice(0, ERROR_LENGTH)
  if (err instanceof DeliveryError) return err.message.slice(0, ERROR_LENGTH)
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (typeof code === 'string') return code
  return (err instanceof Error ? err.message : String(err)).slice(0, ERROR_LENGTH)
}
