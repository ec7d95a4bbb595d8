/** Addresses counted per window at most; beyond this, new addresses are not limited until the window turns. */
const MAX_ADDRESSES = 100_000
const WINDOW_MS = 60_000

/**
 * Counts redirects per client address in fixed one-minute windows, for the redirect
 * hot path: one Map lookup per tap (plus an insert for an address's first tap in the
 * window), no clock read, no allocation for a repeat. A timer swaps in a fresh Map
 * each minute. Memory is bounded by MAX_ADDRESSES; once full, it fails open, since
 * refusing to count a person is worse than counting a flood. See docs/adr/0050.
 */
export class AddressRateLimit {
  private counts = new Map<string, { n: number }>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly perWindow: number) {
    this.timer = setInterval(() => {
      this.counts = new Map()
    }, WINDOW_MS)
    this.timer.unref()
  }

  /** Counts one request from `address`; false once the address is over its limit in this window. */
  allow(address: string): boolean {
    const count = this.counts.get(address)
    if (count === undefined) {
      if (this.counts.size < MAX_ADDRESSES) this.counts.set(address, { n: 1 })
      return true
    }
    return ++count.n <= this.perWindow
  }

  close(): void {
    clearInterval(this.timer)
  }
}
