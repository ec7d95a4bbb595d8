import type { ClickTimingRules } from '../db/store.js'

export interface BurstOptions {
  tooFastMs: number
  /** 0 turns burst detection off. */
  burstWindowMs: number
  /** Tokens remembered at most; the oldest is forgotten first. */
  maxTokens: number
}

interface TokenFetches {
  /** When the window started: the first fetch of the token not yet part of a window. */
  since: number
  /** The network of that first fetch: the one whose fetches stand. */
  network: string
}

/**
 * The flush's memory of recent fetches per recipient token, for `burst`: the same
 * token fetched from several networks within seconds is a scanner farm (or a
 * forwarded message being previewed), not one person. The first network's fetch
 * stands; the later networks' fetches within the window are bots.
 *
 * Bounded: a Map kept in insertion order, the oldest token dropped when full. A
 * forgotten token only means a burst spanning the eviction is missed.
 */
export class BurstRule implements ClickTimingRules {
  readonly tooFastMs: number
  private readonly tokens = new Map<string, TokenFetches>()

  constructor(private readonly options: BurstOptions) {
    this.tooFastMs = options.tooFastMs
  }

  get size(): number {
    return this.tokens.size
  }

  isBurst(messageId: number, recipientIdx: number, network: string, at: number): boolean {
    if (this.options.burstWindowMs === 0) return false
    const key = `${messageId}:${recipientIdx}`
    const seen = this.tokens.get(key)
    if (seen === undefined || at - seen.since > this.options.burstWindowMs) {
      if (seen !== undefined) this.tokens.delete(key)
      else if (this.tokens.size >= this.options.maxTokens) this.tokens.delete(this.tokens.keys().next().value as string)
      // Re-inserted, so that the Map's order stays "oldest window first".
      this.tokens.set(key, { since: at, network })
      return false
    }
    return seen.network !== network
  }
}
