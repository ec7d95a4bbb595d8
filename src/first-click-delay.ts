/**
 * Time from a message's creation to each recipient's first human click, kept as a
 * fixed histogram of log-spaced buckets in the counters (message_breakdowns,
 * dimension first_click), so the median and 90th percentile cost one small read
 * however many recipients clicked.
 *
 * Bucket 0 holds delays under one second; bucket k ≥ 1 holds delays from
 * 2^((k-1)/4) up to 2^(k/4) seconds: four buckets per doubling, each about 19 %
 * wider than the one before, so an interpolated percentile is within about ±10 %
 * of the exact one. The last bucket (2^25 s, about a year) takes everything later.
 */
export const BUCKETS_PER_DOUBLING = 4
export const LAST_BUCKET = 25 * BUCKETS_PER_DOUBLING + 1

/** The bucket a delay in milliseconds falls into. */
export function firstClickBucket(delayMs: number): number {
  const seconds = delayMs / 1000
  if (!(seconds >= 1)) return 0
  return Math.min(LAST_BUCKET, Math.floor(Math.log2(seconds) * BUCKETS_PER_DOUBLING) + 1)
}

/** Lower and upper edge of a bucket, in seconds. */
export function bucketEdges(bucket: number): [number, number] {
  if (bucket === 0) return [0, 1]
  return [2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING), 2 ** (bucket / BUCKETS_PER_DOUBLING)]
}

/**
 * The q-quantile (0 < q < 1) of the delays in seconds, interpolated inside its bucket:
 * linearly in bucket 0, geometrically (evenly on the log scale) in the others.
 * Null when the histogram is empty.
 */
export function quantileSeconds(counts: Map<number, number>, q: number): number | null {
  const buckets = [...counts.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => a - b)
  const total = buckets.reduce((sum, [, n]) => sum + n, 0)
  if (total === 0) return null
  const rank = q * total
  let below = 0
  for (const [bucket, n] of buckets) {
    if (below + n >= rank) {
      const within = (rank - below) / n
      const [low, high] = bucketEdges(bucket)
      const value = bucket === 0 ? low + (high - low) * within : low * (high / low) ** within
      return Math.round(value * 10) / 10
    }
    below += n
  }
  /* c8 ignore next */
  return null
}

/**
 * The share (0–1) of the histogram's recipients whose first click came within
 * `seconds`, interpolated inside the bucket that holds it as quantileSeconds does.
 * Null when the histogram is empty.
 */
export function shareWithin(counts: Map<number, number>, seconds: number): number | null {
  let total = 0
  let within = 0
  for (const [bucket, n] of counts) {
    total += n
    const [low, high] = bucketEdges(bucket)
    if (seconds >= high) within += n
    else if (seconds > low) {
      within +=
        bucket === 0 ? (n * (seconds - low)) / (high - low) : (n * Math.log(seconds / low)) / Math.log(high / low)
    }
  }
  return total === 0 ? null : Math.round((within / total) * 10_000) / 10_000
}
