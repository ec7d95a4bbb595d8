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
/**
 * Cache changes are kept this long: far longer than a running instance takes to read
 * them, and one that lost the feed for longer reloads its caches anyway (docs/adr/0081).
 * Every created link is a change, so a busy sender makes many.
 */
const CACHE_CHANGES_KEPT_MS = 3_600_000
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
 * stats stay the same. With several instances on one database, a run is made by one
 * of them at a time (Store.runExclusive); the others skip it. Old rows of the cache
 * change feed go too.
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
    const run = this.running.then(() => track('retention', () => this.runOnce(now)))
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

  /** Prunes unless another instance on the same database is pruning: then it deletes nothing. */
  private async runOnce(now: number): Promise<RetentionRun> {
    const result: RetentionRun = { clicks: 0, webhookRows: 0 }
    await this.store.runExclusive('retention', () => this.prune(now, result))
    return result
  }

  private async prune(now: number, result: RetentionRun): Promise<void> {
    const batch = this.options.batchSize ?? DEFAULT_BATCH
    const before = now - this.options.retentionDays * DAY_MS
    for (;;) {
      if (this.closing) return
      const n = await this.store.deleteClicksBefore(before, batch)
      result.clicks += n
      this.deleted.clicks += n
      if (n < batch) break
      await nextTurn()
    }
    for (;;) {
      if (this.closing) return
      const n = await this.store.pruneWebhookOutbox(before, batch)
      result.webhookRows += n
      this.deleted.webhookRows += n
      if (n === 0) break
      await nextTurn()
    }
    for (;;) {
      if (this.closing) return
      if ((await this.store.pruneCacheChanges(now - CACHE_CHANGES_KEPT_MS, batch)) < batch) break
      await nextTurn()
    }
  }
}
