import type { LinkTarget, UtmParams } from '../db/store.js'
import { newClickId } from './click-ids.js'

/** A short code's target as the redirect uses it: the Location worked out once, when cached. */
export interface RedirectTarget {
  linkId: number
  messageId: number
  /** The destination with the message's utm_* parameters: the Location header. */
  location: string
  /** When the message asks for click ids: the Location is `before + clickId + after`. */
  withClickId: { before: string; after: string } | null
  /** From this time (ms) on the link is expired; Infinity when it never expires, so the check is one comparison. */
  expiresAt: number
}

const UTM_KEYS: ReadonlyArray<keyof UtmParams> = ['source', 'medium', 'campaign', 'term', 'content']

/**
 * Adds query parameters to a URL before its fragment, leaving the rest of it exactly
 * as stored (re-serialising the query could re-encode what the sender wrote).
 */
function appendQuery(url: string, pairs: string[]): string {
  if (pairs.length === 0) return url
  const hash = url.indexOf('#')
  const base = hash === -1 ? url : url.slice(0, hash)
  const fragment = hash === -1 ? '' : url.slice(hash)
  const joiner = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&'
  return base + joiner + pairs.join('&') + fragment
}

/**
 * The destination with the message's UTM values added, never overwriting a parameter
 * the URL already has (the sender's own `utm_source=newsletter` wins).
 */
export function destinationWithUtm(url: string, utm: UtmParams | null): string {
  if (utm === null) return url
  const present = new URL(url).searchParams
  const pairs: string[] = []
  for (const key of UTM_KEYS) {
    const value = utm[key]
    if (value !== undefined && !present.has(`utm_${key}`)) pairs.push(`utm_${key}=${encodeURIComponent(value)}`)
  }
  return appendQuery(url, pairs)
}

/** Works out, once per cached code, everything a redirect writes. */
export function redirectTarget(target: LinkTarget): RedirectTarget {
  const location = destinationWithUtm(target.url, target.utm)
  let withClickId: RedirectTarget['withClickId'] = null
  if (target.clickIdParam !== null) {
    const marker = '\u0000'
    const [before, after] = appendQuery(location, [`${target.clickIdParam}=${marker}`]).split(marker) as [
      string,
      string,
    ]
    withClickId = { before, after }
  }
  return {
    linkId: target.linkId,
    messageId: target.messageId,
    location,
    withClickId,
    expiresAt: target.expiresAt ?? Number.POSITIVE_INFINITY,
  }
}

/** A fresh click id when the target's message asks for them; null otherwise. O(1). */
export function clickIdFor(target: RedirectTarget): string | null {
  return target.withClickId === null ? null : newClickId()
}

/** The Location header for one click. */
export function locationFor(target: RedirectTarget, clickId: string | null): string {
  return clickId === null || target.withClickId === null
    ? target.location
    : target.withClickId.before + clickId + target.withClickId.after
}
