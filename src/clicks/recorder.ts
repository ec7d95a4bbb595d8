import { untracked, type TrackWork } from '../loop-watch.js'
import type { FastifyBaseLogger } from 'fastify'
import { randomUUID } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import type { CheckedTap, ClickRow, Tap, TapBatch } from '../click.js'
import { isDatabaseUnavailable, isStatementRefused } from '../db/database-errors.js'
import type { Store } from '../db/store.js'
import { recordClicks, type ClickTimingRules } from './click-batch.js'
import { DurationHistogram, FLUSH_BUCKETS } from '../duration-histogram.js'
import { batchRows, ClickQueue } from './click-queue.js'
import { classifyClick } from './classify.js'
import type { AddressToStore } from './network.js'
import type { RecipientTokens } from '../links/tokens.js'
import { describeUserAgent } from './user-agent-details.js'
import { SETTLE_BATCH, settleSweeps } from './settle-sweeps.js'

/** Where the recorder's batches go: the store on this thread, or the click writer thread. */
export interface ClickSink {
  /** Most clicks per write; the recorder's batch size when unset. */
  readonly maxBatch?: number
  /** Gets ready before the first batch (the recorder's start). */
  start?(): Promise<void>
  /**
   * Classifies and stores a batch in one transaction; rejects, storing nothing, on
   * failure. `batchId` is the same on every attempt at the same batch: a backend
   * whose commit's reply can be lost stores it with the batch and skips a batch whose
   * id it already holds.
   */
  write(batch: TapBatch, batchId: string): Promise<void>
  /** Settles the judged clicks made before `before` (docs/adr/0084). */
  settle?(before: number): Promise<void>
  close(): Promise<void>
}

/** Writes on the event loop, through the service's own store: for an injected store or `:memory:`. */
export class InlineClickSink implements ClickSink {
  private readonly toClickRow: (click: CheckedTap) => ClickRow

  constructor(
    private readonly store: Store,
    private readonly tokens: RecipientTokens,
    addressToStore: AddressToStore,
    /** too_fast and burst, decided in the flush. */
    private readonly rules: ClickTimingRules,
  ) {
    this.toClickRow = (click) => toClickRow(click, addressToStore)
  }

  async settle(before: number): Promise<void> {
    while ((await settleSweeps(this.store, before, this.rules)) === SETTLE_BATCH) await nextTurn()
  }

  write(batch: TapBatch, batchId: string): Promise<void> {
    return recordClicks(this.store, batchRows(batch, this.tokens).map(this.toClickRow), this.rules, batchId)
  }

  async close(): Promise<void> {}
}

export interface RecorderOptions {
  /** Longest a click waits in memory before its batch is written. */
  flushIntervalMs: number
  /** A batch this large is written at once, without waiting for the interval. */
  batchSize: number
  /** Clicks held at most; beyond it a tap still redirects but its count is lost. */
  maxQueue: number
  /** Names the batch writes for the event-loop watch; only when they run on the event loop. */
  track?: TrackWork
  /**
   * The settle pass of the sweep rule (docs/adr/0084), when its sink has one: clicks
   * settle `spanMs` after they were made, once every tap before that is written.
   */
  settle?: { spanMs: number; now: () => number }
}

/** How often an idle recorder runs the settle pass. */
const SETTLE_INTERVAL_MS = 1_000

const DROP_WARNING_INTERVAL_MS = 10_000
/** Longest wait between two attempts at a batch that failed. */
const RETRY_MAX_MS = 1_000
/** Attempts at a batch the database refuses for what it holds before its clicks are given up. */
const REFUSED_ATTEMPTS = 3

/** A batch that failed, kept whole with its id until it is written or given up. */
interface FailedBatch {
  batch: TapBatch
  id: string
  attempts: number
  /** The timer's flushes leave it alone until then. */
  retryAt: number
  /** Why its last attempt failed. */
  error?: unknown
}
/**
 * Write-behind click recorder. The redirect hands it a click after the reply is
 * written; it batches them and hands each batch to its sink, which classifies and
 * writes it, counters included, in one transaction. Bounded: when full, clicks are
 * dropped and counted, never the redirect.
 */
export class ClickRecorder {
  private readonly queue = new ClickQueue()
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  private running: Promise<void> = Promise.resolve()
  private lastDropWarning = 0
  /** Clicks written to the store since start. */
  written = 0
  /** Clicks lost: the queue was full, the database refused their batch, or it failed at shutdown. */
  dropped = 0
  /** How long each batch write took, failed ones included (read by /metrics). */
  readonly flushDuration = new DurationHistogram(FLUSH_BUCKETS)

  /** Clicks handed to the sink and not yet stored. */
  private writing = 0
  /** The batch that failed last, retried whole (same id) before anything queued after it. */
  private failed: FailedBatch | null = null
  private lastFailureLog = 0
  /** When the timer last ran the settle pass (the recorder's clock). */
  private lastSettle = -Infinity

  constructor(
    private readonly sink: ClickSink,
    private readonly options: RecorderOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Starts the sink (the writer thread) and the flush timer. */
  async start(): Promise<void> {
    await this.sink.start?.()
    this.timer ??= setInterval(() => this.flushWhenDue(), this.options.flushIntervalMs).unref()
  }

  /** Clicks not yet stored: queued here, or being written. */
  get depth(): number {
    return this.queue.length + this.writing + (this.failed?.batch.length ?? 0)
  }

  /** The most clicks the queue holds; at this depth new taps are not counted. */
  get capacity(): number {
    return this.options.maxQueue
  }

  /** Queues a tap: copied into the queue's columns, so the caller may reuse the object. */
  record(click: Tap): void {
    if (this.depth >= this.options.maxQueue) {
      this.dropped++
      this.warnDropped()
      return
    }
    this.queue.push(click)
    if (this.queue.length >= this.options.batchSize && this.immediate === null) {
      this.immediate = setImmediate(() => {
        this.immediate = null
        this.flushWhenDue()
      })
    }
  }

  /**
   * Writes everything queued so far, a failed batch first (at once, whatever its
   * backoff), then settles what can be settled; flushes run one after another, never
   * side by side. The timer's flushes settle at most once a second.
   */
  flush(settleNow = true): Promise<void> {
    const track = this.options.track ?? untracked
    this.running = this.running
      .then(() =>
        this.queue.length === 0 && this.failed === null ? undefined : track('click writing', () => this.drain()),
      )
      .then(() => this.settle(settleNow))
    return this.running
  }

  /**
   * Writes everything queued so far, like flush, and fails with the database's error
   * when a batch could not be written: for work that must not run before every tap
   * made until now is stored (an erasure scrubs them afterwards).
   */
  async flushAll(): Promise<void> {
    await this.flush()
    if (this.failed !== null) throw this.failed.error
  }

  /** The timer's and a full batch's flush: while a failed batch waits out its backoff, the database is left alone. */
  private flushWhenDue(): void {
    if (this.failed === null || Date.now() >= this.failed.retryAt) void this.flush(false)
  }

  /** The settle pass, for judged clicks whose every neighbour is written: all taps up to `spanMs` after them. */
  private async settle(force: boolean): Promise<void> {
    const settle = this.options.settle
    // A failed batch holds taps older than the queue's: their neighbours are not all written.
    if (!settle || !this.sink.settle || this.failed !== null) return
    const now = settle.now()
    if (!force && now - this.lastSettle < SETTLE_INTERVAL_MS) return
    this.lastSettle = now
    const written = this.queue.oldestAt ?? now
    try {
      await this.sink.settle(written - settle.spanMs)
    } catch (err) {
      // Nothing was stored; the next pass takes the same clicks.
      this.log.error({ err }, 'settling judged clicks failed; will retry')
    }
  }

  /** Stops the timer and writes every queued click. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = null
    this.immediate = null
    await this.flush()
    if (this.queue.length > 0 || this.failed !== null) {
      const lost = this.queue.clear() + (this.failed?.batch.length ?? 0)
      this.failed = null
      this.dropped += lost
      this.log.error({ lost }, 'clicks could not be written before shutdown')
    }
    await this.sink.close()
  }

  private async drain(): Promise<void> {
    if (this.failed !== null) {
      const failed = this.failed
      this.failed = null
      if ((await this.write(failed)) === 'kept') return
    }
    while (this.queue.length > 0) {
      const batch = this.queue.take(this.sink.maxBatch ?? this.options.batchSize)
      if ((await this.write({ batch, id: randomUUID(), attempts: 0, retryAt: 0 })) === 'kept') return
      // One batch per turn of the event loop: a backlog is written in slices, and
      // redirects waiting on their sockets are answered in between.
      if (this.queue.length > 0) await nextTurn()
    }
  }

  /**
   * One attempt at a batch. A failure keeps it whole, with its id, for a later attempt
   * after a backoff: the database may be restarting, or may have committed a batch
   * whose reply was lost (its id then says so). Only a batch the database refuses for
   * what it holds is given up, after a few attempts, so that it cannot hold back every
   * click behind it. Says which happened; after `kept` the flush stops until the retry.
   */
  private async write(attempt: FailedBatch): Promise<'written' | 'given up' | 'kept'> {
    // Timed with the classification: all of it is work the flush does.
    const started = performance.now()
    this.writing = attempt.batch.length
    try {
      await this.sink.write(attempt.batch, attempt.id)
      this.written += attempt.batch.length
      return 'written'
    } catch (err) {
      const attempts = attempt.attempts + 1
      if (isStatementRefused(err) && attempts >= REFUSED_ATTEMPTS) {
        this.dropped += attempt.batch.length
        this.log.error({ err, lost: attempt.batch.length }, 'the database refused a batch of clicks; gave it up')
        return 'given up'
      }
      const backoff = Math.min(RETRY_MAX_MS, this.options.flushIntervalMs * 2 ** attempts)
      this.failed = { ...attempt, attempts, retryAt: Date.now() + backoff, error: err }
      this.logFailure(err, attempts)
      return 'kept'
    } finally {
      this.writing = 0
      this.flushDuration.observe((performance.now() - started) / 1000)
    }
  }

  /** Every failure when they are rare; while the database is away, one line now and then. */
  private logFailure(err: unknown, attempts: number): void {
    const now = Date.now()
    if (attempts > 1 && now - this.lastFailureLog < DROP_WARNING_INTERVAL_MS) return
    this.lastFailureLog = now
    const fields = { err, attempts, pending: this.depth }
    if (isDatabaseUnavailable(err)) this.log.warn(fields, 'the database is unavailable; clicks wait in memory')
    else this.log.error(fields, 'writing clicks failed; will retry')
  }

  private warnDropped(): void {
    const now = Date.now()
    if (now - this.lastDropWarning < DROP_WARNING_INTERVAL_MS) return
    this.lastDropWarning = now
    this.log.warn(
      { dropped: this.dropped, queue: this.queue.length },
      'click queue full: redirecting without recording',
    )
  }
}

/** A checked tap classified, its address cut down, its user agent parsed: the row a backend stores. */
export function toClickRow(click: CheckedTap, addressToStore: AddressToStore): ClickRow {
  const verdict = classifyClick(click.head, click.userAgent)
  const userAgent = click.userAgent?.slice(0, 512) || null
  // Only human clicks are broken down by device; machines need no parsing.
  const details = verdict.class === 'human' ? describeUserAgent(userAgent) : null
  return {
    at: click.at,
    messageId: click.messageId,
    linkId: click.linkId,
    recipientIdx: click.recipientIdx,
    class: verdict.class,
    reason: verdict.reason,
    userAgent,
    network: addressToStore(click.address, click.at),
    clickId: click.clickId ?? null,
    device: details?.device ?? null,
    os: details?.os ?? null,
    browser: details?.browser ?? null,
  }
}
