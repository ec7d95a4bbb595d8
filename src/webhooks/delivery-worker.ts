import type { FastifyBaseLogger } from 'fastify'
import type { DueWebhookEvent, Store } from '../db/store.js'
import { signWebhookBody } from './signature.js'

export interface WebhookDeliveryOptions {
  pollIntervalMs: number
  retryBaseMs: number
  retryMaxMs: number
  giveUpAfterMs: number
  timeoutMs: number
}

/** Events posted at most per round; a full round starts the next one at once. */
const BATCH = 50
/** Stored error texts are cut to this length. */
const ERROR_LENGTH = 300

/**
 * Delivers the webhook outbox: every poll interval it takes the due events, posts
 * each signed, and stores the outcome. A 2xx answer delivers an event; anything else
 * (another status, a timeout, a refused connection) schedules a retry with
 * exponential backoff and jitter, until the event is older than giveUpAfterMs, when
 * it is marked failed. At-least-once: an event is pending until a 2xx is stored, so
 * a crash between the post and the store sends it again (same id). Runs in this
 * process, off every request path.
 */
export class WebhookDeliveryWorker {
  private timer: NodeJS.Timeout | null = null
  private stopped = true
  private round: Promise<void> = Promise.resolve()
  private readonly abort = new AbortController()

  constructor(
    private readonly store: Store,
    private readonly options: WebhookDeliveryOptions,
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
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.round = this.runRound().then(
        (full) => this.schedule(full ? 0 : this.options.pollIntervalMs),
        (err: unknown) => {
          this.log.error({ err }, 'webhook delivery round failed; will retry')
          this.schedule(this.options.pollIntervalMs)
        },
      )
    }, delayMs).unref()
  }

  /** One round: posts the due events side by side; true when there may be more due. */
  private async runRound(): Promise<boolean> {
    const due = await this.store.dueWebhookEvents(Date.now(), BATCH)
    await Promise.all(due.map((event) => this.deliver(event)))
    return due.length === BATCH && !this.stopped
  }

  private async deliver(event: DueWebhookEvent): Promise<void> {
    let statusCode: number | null = null
    let error: string | null = null
    try {
      const response = await fetch(event.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'smslinks-webhooks',
          'smslinks-event-id': event.publicId,
          'smslinks-signature': signWebhookBody(event.secret, event.body, Math.floor(Date.now() / 1000)),
        },
        body: event.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      })
      statusCode = response.status
      await response.body?.cancel()
      if (statusCode < 200 || statusCode > 299) error = `answered HTTP ${statusCode}`
    } catch (err) {
      if (this.abort.signal.aborted) return
      error = describe(err, this.options.timeoutMs)
    }
    const now = Date.now()
    const attempt = event.attempts + 1
    const outcome =
      error === null ? 'delivered' : now - event.createdAt >= this.options.giveUpAfterMs ? 'failed' : 'retrying'
    if (outcome === 'failed') {
      this.log.warn({ event: event.publicId, attempts: attempt, error }, 'webhook event given up after retrying')
    }
    await this.store.recordWebhookAttempt({
      eventId: event.id,
      webhookId: event.webhookId,
      at: now,
      statusCode,
      error,
      outcome,
      nextAttemptAt: outcome === 'retrying' ? now + this.backoff(attempt) : null,
    })
  }

  /** Wait after the n-th failed attempt: base × 2^(n−1), capped, half of it random. */
  private backoff(attempt: number): number {
    const full = Math.min(this.options.retryBaseMs * 2 ** Math.min(attempt - 1, 40), this.options.retryMaxMs)
    return Math.round(full / 2 + Math.random() * (full / 2))
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause
    const text = cause?.code ?? cause?.message ?? err.message
    return text.slice(0, ERROR_LENGTH)
  }
  return String(err).slice(0, ERROR_LENGTH)
}
