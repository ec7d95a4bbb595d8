/**
 * Client addresses as 16 bytes, for the click queue: a backlog of 1,000,000 taps from
 * 1,000,000 phones would otherwise keep 1,000,000 address strings on the JavaScript
 * heap (figures in docs/adr/0063). Only spellings that read back
 * exactly as they came are packed: dotted IPv4 without leading zeros, the same behind
 * `::ffff:` (how a dual-stack socket names an IPv4 peer), and IPv6 as RFC 5952 writes
 * it (lowercase, no leading zeros, `::` for the longest run of two or more zero
 * groups), which is how Node names every socket peer. Anything else is left to the
 * caller to keep as text, so what a click stores never depends on the packing.
 */

/** No packed address: the caller keeps the text. */
export const UNPACKED = 0
/** `a.b.c.d`, in the slot's first 4 bytes. */
export const IPV4 = 4
/** `::ffff:a.b.c.d`, in the slot's first 4 bytes. */
export const MAPPED_IPV4 = 5
/** IPv6, all 16 bytes. */
export const IPV6 = 6

export const ADDRESS_BYTES = 16

const DOT = 46
const COLON = 58

/** Writes `a.b.c.d` from `text[from..]` into bytes[at..at+4]; false unless exact. */
function packIpv4(text: string, from: number, bytes: Uint8Array, at: number): boolean {
  let octet = 0
  let digits = 0
  let part = 0
  for (let i = from; i <= text.length; i++) {
    const code = i === text.length ? DOT : text.charCodeAt(i)
    if (code === DOT) {
      if (digits === 0 || part === 4) return false
      bytes[at + part++] = octet
      octet = digits = 0
    } else {
      const digit = code - 48
      if (digit < 0 || digit > 9 || (digits === 1 && octet === 0)) return false
      octet = octet * 10 + digit
      if (octet > 255) return false
      digits++
    }
  }
  return part === 4
}

/** The value of a lowercase hex digit, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/** Scratch for packIpv6: the groups as written, then all 8. One thread, no reentry. */
const written = new Int32Array(8)
const groups = new Int32Array(8)

/**
 * The longest run of two or more zero groups, the first of equal ones, as
 * start * 16 + length; -1 when there is none. RFC 5952 writes that run as `::`.
 */
function longestZeroRun(groups: Int32Array): number {
  let best = -1
  let bestLength = 1
  for (let g = 0; g < 8;) {
    if (groups[g] !== 0) {
      g++
      continue
    }
    let end = g
    while (end < 8 && groups[end] === 0) end++
    if (end - g > bestLength) {
      best = g
      bestLength = end - g
    }
    g = end
  }
  return best === -1 ? -1 : best * 16 + bestLength
}

/** Writes an IPv6 address in RFC 5952 spelling into bytes[at..at+16]; false otherwise. */
function packIpv6(text: string, bytes: Uint8Array, at: number): boolean {
  const length = text.length
  let count = 0
  /** Groups written before `::`, or -1 when there is none. */
  let gap = -1
  let i = 0
  if (length < 2) return false
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false
    gap = 0
    i = 2
  }
  while (i < length) {
    if (count === 8) return false
    let value = 0
    let digits = 0
    for (; i < length; i++) {
      const digit = hexDigit(text.charCodeAt(i))
      if (digit === -1) break
      // RFC 5952 4.1: no leading zeros.
      if (digits === 1 && value === 0) return false
      value = value * 16 + digit
      digits++
    }
    if (digits === 0 || digits > 4) return false
    written[count++] = value
    if (i === length) break
    if (text.charCodeAt(i++) !== COLON || i === length) return false
    if (text.charCodeAt(i) === COLON) {
      if (gap !== -1) return false
      gap = count
      i++
    }
  }
  const zeros = 8 - count
  // Without `::` all 8 groups are written; `::` stands for two or more (4.2.2).
  if (gap === -1 ? zeros !== 0 : zeros < 2) return false
  for (let g = 0, k = 0; g < 8; g++) groups[g] = gap !== -1 && g >= gap && g < gap + zeros ? 0 : written[k++]!
  // `::` must be the longest run of zero groups, the first of equal ones (4.2.3).
  if (longestZeroRun(groups) !== (gap === -1 ? -1 : gap * 16 + zeros)) return false
  for (let g = 0; g < 8; g++) {
    bytes[at + 2 * g] = groups[g]! >>> 8
    bytes[at + 2 * g + 1] = groups[g]! & 255
  }
  return true
}

const MAPPED_PREFIX = '::ffff:'

/**
 * Packs `text` into bytes[at..at+16] and says how (IPV4, MAPPED_IPV4, IPV6), or
 * UNPACKED when its spelling would not read back the same.
 */
export function packAddress(text: string, bytes: Uint8Array, at: number): number {
  if (text.length <= 15 && packIpv4(text, 0, bytes, at)) return IPV4
  if (text.startsWith(MAPPED_PREFIX) && packIpv4(text, MAPPED_PREFIX.length, bytes, at)) return MAPPED_IPV4
  return text.length <= 39 && packIpv6(text, bytes, at) ? IPV6 : UNPACKED
}

/** The text of a packed address, as it was given to packAddress. */
export function unpackAddress(kind: number, bytes: Uint8Array, at: number): string {
  if (kind === IPV4 || kind === MAPPED_IPV4) {
    const dotted = `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`
    return kind === IPV4 ? dotted : MAPPED_PREFIX + dotted
  }
  const groups = new Int32Array(8)
  for (let g = 0; g < 8; g++) groups[g] = (bytes[at + 2 * g]! << 8) | bytes[at + 2 * g + 1]!
  const run = longestZeroRun(groups)
  const hex = (from: number, to: number) =>
    Array.from(groups.subarray(from, to), (group) => group.toString(16)).join(':')
  if (run === -1) return hex(0, 8)
  return `${hex(0, run >> 4)}::${hex((run >> 4) + (run & 15), 8)}`
}
