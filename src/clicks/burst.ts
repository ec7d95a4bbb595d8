import { LRUCache } from 'lru-cache'
import type { ClickTimingRules } from './click-batch.js'
import type { SweepSettings } from './sweep-rule.js'

export interface BurstOptions {
  tooFastMs: number
  /** The sweep rule's settings (docs/adr/0084); unset: off. */
  sweep?: SweepSettings
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
 * Bounded: the token whose window started longest ago is forgotten first (lru-cache,
 * O(1); read with peek, so only a new window moves a token to the back). A forgotten
 * token only means a burst spanning the eviction is missed. The Map used before
 * evicted through `keys().next()`, which V8 walks past every deleted slot at the
 * front: with more recipients than it remembers, the flush spent a third of its time there.
 */
export class BurstRule implements ClickTimingRules {
  readonly tooFastMs: number
  readonly sweep: SweepSettings | undefined
  private readonly tokens: LRUCache<string, TokenFetches>

  constructor(private readonly options: BurstOptions) {
    this.tooFastMs = options.tooFastMs
    this.sweep = options.sweep
    this.tokens = new LRUCache({ max: options.maxTokens })
  }

  get size(): number {
    return this.tokens.size
  }

  isBurst(messageId: number, recipientIdx: number, network: string, at: number): boolean {
    if (this.options.burstWindowMs === 0) return false
    const key = `${messageId}:${recipientIdx}`
    const seen = this.tokens.peek(key)
    if (seen === undefined || at - seen.since > this.options.burstWindowMs) {
      // Set again, so the order stays "oldest window first"; the oldest goes when full.
      this.tokens.set(key, { since: at, network })
      return false
    }
    return seen.network !== network
  }
}
