import { untracked, type TrackWork } from '../loop-watch.js'
import type { FastifyBaseLogger } from 'fastify'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import type { CheckedTap, ClickRow, Tap, TapBatch } from '../click.js'
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
  /** Classifies and stores a batch in one transaction; rejects, storing nothing, on failure. */
  write(batch: TapBatch): Promise<void>
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

  write(batch: TapBatch): Promise<void> {
    return recordClicks(this.store, batchRows(batch, this.tokens).map(this.toClickRow), this.rules)
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
  /** Clicks lost because the queue was full or the store failed at shutdown. */
  dropped = 0
  /** How long each batch write took, failed ones included (read by /metrics). */
  readonly flushDuration = new DurationHistogram(FLUSH_BUCKETS)

  /** Clicks handed to the sink and not yet stored. */
  private writing = 0
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
    this.timer ??= setInterval(() => void this.flush(false), this.options.flushIntervalMs).unref()
  }

  /** Clicks not yet stored: queued here, or being written. */
  get depth(): number {
    return this.queue.length + this.writing
  }

  /** The most clicks the queue holds; at this depth new taps are not counted. */
  get capacity(): number {
    return this.options.maxQueue
  }

  /** Queues a tap: copied into the queue's columns, so the caller may reuse the object. */
  record(click: Tap): void {
    if (this.queue.length + this.writing >= this.options.maxQueue) {
      this.dropped++
      this.warnDropped()
      return
    }
    this.queue.push(click)
    if (this.queue.length >= this.options.batchSize && this.immediate === null) {
      this.immediate = setImmediate(() => {
        this.immediate = null
        void this.flush(false)
      })
    }
  }

  /**
   * Writes everything queued so far, then settles what can be settled; flushes run one
   * after another, never side by side. The timer's flushes settle at most once a second.
   */
  flush(settleNow = true): Promise<void> {
    const track = this.options.track ?? untracked
    this.running = this.running
      .then(() => (this.queue.length === 0 ? undefined : track('click writing', () => this.drain())))
      .then(() => this.settle(settleNow))
    return this.running
  }

  /** The settle pass, for judged clicks whose every neighbour is written: all taps up to `spanMs` after them. */
  private async settle(force: boolean): Promise<void> {
    const settle = this.options.settle
    if (!settle || !this.sink.settle) return
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
    if (this.queue.length > 0) {
      const lost = this.queue.clear()
      this.dropped += lost
      this.log.error({ lost }, 'clicks could not be written before shutdown')
    }
    await this.sink.close()
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.take(this.sink.maxBatch ?? this.options.batchSize)
      // Timed with the classification: all of it is work the flush does.
      const started = performance.now()
      this.writing = batch.length
      try {
        await this.sink.write(batch)
        this.writing = 0
        this.flushDuration.observe((performance.now() - started) / 1000)
        this.written += batch.length
        // One batch per turn of the event loop: a backlog is written in slices, and
        // redirects waiting on their sockets are answered in between.
        if (this.queue.length > 0) await nextTurn()
      } catch (err) {
        this.writing = 0
        this.flushDuration.observe((performance.now() - started) / 1000)
        // Keep the clicks for the next attempt; the store may be briefly busy.
        this.queue.putBack(batch)
        this.log.error({ err, pending: this.queue.length }, 'writing clicks failed; will retry')
        return
      }
    }
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
