/**
 * A histogram of durations kept as plain numbers, so that code on the redirect path
 * can observe a value with a few comparisons and one `++`, and nothing else. prom-client
 * is only called at scrape time (see operations/metrics.ts), never per request.
 */
export class DurationHistogram {
  /** Upper bounds in seconds, ascending; an observation above the last lands only in +Inf. */
  readonly bounds: readonly number[]
  /** Observations per bucket (not cumulative); the extra last slot is +Inf. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(bounds: readonly number[]) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(seconds: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]!) i++
    this.counts[i]!++
    this.sum += seconds
    this.count++
  }
}

/** Redirects are answered from memory: tenths of a millisecond, up to a slow cache miss. */
export const REDIRECT_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
]

/** A batch of clicks: a millisecond for a few, tens for thousands, more when the disk is slow. */
export const FLUSH_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
