import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * Runs `work` on `items` a slice at a time, letting the event loop run (redirects,
 * timers, other requests) between slices, so that large work never holds it for
 * long (docs/adr/0079). Slices run one after another, in order.
 */
export async function inSlices<T>(
  items: readonly T[],
  size: number,
  work: (slice: T[]) => Promise<void>,
): Promise<void> {
  for (let from = 0; from < items.length; from += size) {
    if (from > 0) await nextTurn()
    await work(items.slice(from, from + size))
  }
}

/** Items per slice when repeats are dropped: hashing a string the first time is most of it. */
const DISTINCT_PER_SLICE = 10_000

/**
 * `items` without repeats, first occurrences in order (as `[...new Set(items)]`), a
 * slice at a time: 100,000 fresh strings are too many to hash in one stretch.
 */
export async function distinctInSlices(items: readonly string[]): Promise<string[]> {
  if (items.length <= DISTINCT_PER_SLICE) return [...new Set(items)]
  const seen = new Set<string>()
  const distinct: string[] = []
  for (let i = 0; i < items.length; i++) {
    if (i % DISTINCT_PER_SLICE === 0 && i > 0) await nextTurn()
    const item = items[i]!
    if (!seen.has(item)) {
      seen.add(item)
      distinct.push(item)
    }
  }
  return distinct
}
