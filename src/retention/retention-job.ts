import { untracked, type TrackWork } from '../loop-watch.js'
import type { FastifyBaseLogger } from 'fastify'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Store } from '../db/store.js'

export interface RetentionOptions {
  /** Raw clicks and finished webhook outbox rows older than this are deleted. */
  retentionDays: number
  /** Time between runs. */
  intervalMs: number
  /** Rows deleted per transaction. */
  batchSize?: number
  /** The clock a scheduled run reads; Date.now when unset. */
  now?: () => number
  /** Names the runs for the event-loop watch. */
  track?: TrackWork
}

const DAY_MS = 86_400_000
/** Small enough that one transaction takes milliseconds, so the click flush and redirects never wait long. */
const DEFAULT_BATCH = 5_000
/** The first run comes soon after start, not an interval later (a service restarted hourly would never prune). */
const FIRST_RUN_MAX_DELAY_MS = 10_000

export interface RetentionRun {
  clicks: number
  webhookRows: number
}

/**
 * Deletes raw click rows, and delivered/failed/cancelled webhook outbox rows with
 * their attempts, once they are older than the retention window. In process, off the
 * request path: a batch per transaction and a turn of the event loop between batches,
 * so redirects and click flushes interleave with it. Counters are never touched, so
 * stats stay the same.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null
  private stopped = true
  /** Set by stop(): a run in progress ends after its current batch. */
  private closing = false
  private running: Promise<unknown> = Promise.resolve()
  /** Rows deleted since start, for logs and tests. */
  deleted = { clicks: 0, webhookRows: 0 }

  constructor(
    private readonly store: Store,
    private readonly options: RetentionOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule(Math.min(this.options.intervalMs, FIRST_RUN_MAX_DELAY_MS))
  }

  /** Stops the timer and waits for a run in progress to finish its current batch. */
  async stop(): Promise<void> {
    this.stopped = true
    this.closing = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
  }

  /** Deletes everything older than the window as of `now`; runs one after another, never side by side. */
  run(now: number = (this.options.now ?? Date.now)()): Promise<RetentionRun> {
    const track = this.options.track ?? untracked
    const run = this.running.then(() => track('retention', () => this.prune(now - this.options.retentionDays * DAY_MS)))
    this.running = run.catch(() => undefined)
    return run
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.run()
        .then(
          (result) => {
            if (result.clicks + result.webhookRows > 0) this.log.info(result, 'retention: deleted expired rows')
          },
          (err: unknown) => this.log.error({ err }, 'retention run failed; will retry next interval'),
        )
        .finally(() => this.schedule(this.options.intervalMs))
    }, delayMs).unref()
  }

  private async prune(before: number): Promise<RetentionRun> {
    const batch = this.options.batchSize ?? DEFAULT_BATCH
    const result: RetentionRun = { clicks: 0, webhookRows: 0 }
    for (;;) {
      if (this.closing) return result
      const n = await this.store.deleteClicksBefore(before, batch)
      result.clicks += n
      this.deleted.clicks += n
      if (n < batch) break
      await nextTurn()
    }
    for (;;) {
      if (this.closing) return result
      const n = await this.store.pruneWebhookOutbox(before, batch)
      result.webhookRows += n
      this.deleted.webhookRows += n
      if (n === 0) break
      await nextTurn()
    }
    return result
  }
}
