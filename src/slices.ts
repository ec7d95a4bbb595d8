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
