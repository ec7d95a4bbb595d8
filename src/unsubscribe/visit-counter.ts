import { untracked, type TrackWork } from '../loop-watch.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../db/store.js'

/**
 * Counts visits of unsubscribe pages in memory and adds them to the counters every
 * interval and at shutdown, so showing the page never waits on a disk write. A
 * visit is one Map increment; a burst of scanner traffic costs no more than that.
 */
export class UnsubscribeVisitCounter {
  private pending = new Map<number, number>()
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: FastifyBaseLogger,
    private readonly track: TrackWork = untracked,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs).unref()
  }

  record(messageId: number): void {
    this.pending.set(messageId, (this.pending.get(messageId) ?? 0) + 1)
  }

  /** Writes the visits counted so far; flushes run one after another. */
  flush(): Promise<void> {
    this.running = this.running.then(() =>
      this.pending.size === 0 ? undefined : this.track('unsubscribe visit counts', () => this.write()),
    )
    return this.running
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.flush()
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    try {
      await this.store.addUnsubscribeVisits(batch)
    } catch (err) {
      // Keep them for the next flush.
      for (const [id, n] of batch) this.pending.set(id, (this.pending.get(id) ?? 0) + n)
      this.log.error({ err }, 'writing unsubscribe page visits failed; will retry')
    }
  }
}
