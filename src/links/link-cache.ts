import { LRUCache } from 'lru-cache'
import type { LinkTarget } from '../db/store.js'
import { redirectTarget, type RedirectTarget } from './redirect-target.js'

/** How long an unknown code is remembered; a link created meanwhile clears it here at once. */
const NEGATIVE_TTL_MS = 60_000

export interface LinkCacheOptions {
  size: number
  negativeSize: number
}

/**
 * The redirect's in-process view of short codes. One entry per link (not per
 * recipient: tokens are checked by a keyed hash), bounded by entry count. Unknown codes
 * live in a separate, smaller cache so a flood of bad codes neither reaches the
 * database twice nor pushes real links out.
 */
export class LinkCache {
  private readonly known: LRUCache<string, RedirectTarget>
  private readonly unknown: LRUCache<string, true>
  hits = 0
  misses = 0

  constructor(options: LinkCacheOptions) {
    this.known = new LRUCache({ max: options.size })
    this.unknown = new LRUCache({ max: options.negativeSize, ttl: NEGATIVE_TTL_MS })
  }

  /** The cached target, null for a remembered unknown code, undefined when not cached. */
  get(domainId: number, code: string): RedirectTarget | null | undefined {
    const key = cacheKey(domainId, code)
    const target = this.known.get(key)
    if (target !== undefined) {
      this.hits++
      return target
    }
    if (this.unknown.has(key)) {
      this.hits++
      return null
    }
    this.misses++
    return undefined
  }

  /**
   * Caches what the store found for a code and returns it in the redirect's form,
   * worked out here once (UTM parameters and all) instead of on every tap.
   */
  set(domainId: number, code: string, target: LinkTarget | null): RedirectTarget | null {
    const key = cacheKey(domainId, code)
    if (target === null) {
      this.unknown.set(key, true)
      return null
    }
    const prepared = redirectTarget(target)
    this.known.set(key, prepared)
    return prepared
  }

  /** Drops what is cached for a code, e.g. a negative entry for a code just created. */
  forget(domainId: number, code: string): void {
    const key = cacheKey(domainId, code)
    this.known.delete(key)
    this.unknown.delete(key)
  }

  /** Drops every entry, known and unknown codes alike. */
  clear(): void {
    this.known.clear()
    this.unknown.clear()
  }

  get size(): number {
    return this.known.size
  }
}

function cacheKey(domainId: number, code: string): string {
  return `${domainId}/${code}`
}
