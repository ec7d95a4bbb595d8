/**
 * Human clicks of a message over time since it was created, kept as a bounded
 * series of counters (message_click_series) moved in the click flush, so the
 * dashboard's clicks-over-time chart reads at most LAST_SERIES_BUCKET + 1 rows
 * however many clicks a message has.
 *
 * Buckets 0–59 are the minutes of the first hour (most SMS are read within three
 * minutes); buckets 60–226 are the hours from the second hour to the end of the
 * seventh day; bucket 227 takes every later click. A click stamped before the
 * message's creation (clock skew between instances) counts in minute 0.
 */
export const MINUTE_BUCKETS = 60
export const HOUR_BUCKETS = 7 * 24 - 1
export const LAST_SERIES_BUCKET = MINUTE_BUCKETS + HOUR_BUCKETS

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000

/** The bucket of a click `delayMs` after its message was created. */
export function clickSeriesBucket(delayMs: number): number {
  if (!(delayMs >= HOUR_MS)) return Math.max(0, Math.floor(delayMs / MINUTE_MS))
  return Math.min(LAST_SERIES_BUCKET, MINUTE_BUCKETS - 1 + Math.floor(delayMs / HOUR_MS))
}

/** Where a bucket starts and ends, in milliseconds after creation; the last one ends at Infinity. */
export function seriesBucketSpan(bucket: number): [number, number] {
  if (bucket < MINUTE_BUCKETS) return [bucket * MINUTE_MS, (bucket + 1) * MINUTE_MS]
  if (bucket >= LAST_SERIES_BUCKET) return [(LAST_SERIES_BUCKET - MINUTE_BUCKETS + 1) * HOUR_MS, Infinity]
  const hour = bucket - MINUTE_BUCKETS + 1
  return [hour * HOUR_MS, (hour + 1) * HOUR_MS]
}
