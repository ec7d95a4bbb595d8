import { createHash, createHmac } from 'node:crypto'
import { decodeBase62, encodeBase62 } from '../base62.js'
import { SipHash24 } from './siphash.js'

/** MAC characters at the end of every token: 62^3 = 238,328 values. */
const MAC_LENGTH = 3
const MAC_SPACE = 62 ** MAC_LENGTH
/** Index characters at most: 62^6 ≈ 5.7 × 10^10 recipients per message. */
const MAX_INDEX_LENGTH = 6

/**
 * The index a token with a MAC of `macLength` characters claims, its MAC unread, or -1
 * when the token cannot be one. One spelling per index: a leading zero would let one
 * index be tried under many names.
 */
function claimedIndex(token: string, macLength: number): number {
  const indexLength = token.length - macLength
  if (indexLength < 1 || indexLength > MAX_INDEX_LENGTH) return -1
  if (indexLength > 1 && token.charCodeAt(0) === 48) return -1
  return decodeBase62(token, 0, indexLength)
}

/** Splits `base62(index) + base62(mac)` with a MAC of `macLength` characters; null when the token cannot be one. */
function splitToken(token: string, macLength: number): { index: number; mac: number } | null {
  const index = claimedIndex(token, macLength)
  const mac = index < 0 ? -1 : decodeBase62(token, token.length - macLength)
  return mac < 0 ? null : { index, mac }
}

/**
 * What the redirect reads of a recipient token: the index it claims (-1 when it cannot
 * be a token) and its MAC (-1 when not base62). The check itself
 * (RecipientTokens.check) runs where the click is written.
 */
export function tokenIndex(token: string): number {
  return claimedIndex(token, MAC_LENGTH)
}

export function tokenMac(token: string): number {
  return decodeBase62(token, token.length - MAC_LENGTH)
}

/**
 * Recipient tokens: `base62(index) + base62(mac)`, where index is the recipient's
 * place in the message and mac is SipHash-2-4 (a keyed PRF built for short inputs;
 * 128-bit key derived from the secret) of "messageId:index", cut to 3 base62
 * characters. A token is checked without the database, and a guessed one passes at
 * most once in 238,328 tries (at most 1 in 200,000 is required). SipHash rather than
 * HMAC-SHA256 because the check runs on every tap: see docs/adr/0001.
 * Token length: 4 below index 62, 5 below 3,844, 6 below 238,328, 7 below 14,776,336.
 */
export class RecipientTokens {
  private readonly siphash: SipHash24

  constructor(secret: string) {
    const digest = createHash('sha256').update(`smslinks recipient tokens\0${secret}`, 'utf8').digest()
    this.siphash = new SipHash24([0, 4, 8, 12].map((offset) => digest.readUInt32LE(offset)))
  }

  private mac(messageId: number, index: number): number {
    // hashUint gives 53 bits; reduced mod 238,328 the bias is below 1 in 10^10.
    return this.siphash.hashUint(`${messageId}:${index}`) % MAC_SPACE
  }

  issue(messageId: number, index: number): string {
    return encodeBase62(index) + encodeBase62(this.mac(messageId, index), MAC_LENGTH)
  }

  /** The recipient index the token carries, or null when it fails the check. */
  verify(messageId: number, token: string): number | null {
    const parts = splitToken(token, MAC_LENGTH)
    return parts !== null && this.check(messageId, parts.index, parts.mac) ? parts.index : null
  }

  /** Whether `mac` is the MAC of recipient `index` of the message (tokenIndex, tokenMac). */
  check(messageId: number, index: number, mac: number): boolean {
    return this.mac(messageId, index) === mac
  }
}

/** MAC characters of an unsubscribe token: 62^6 ≈ 5.7 × 10^10 values. */
const UNSUBSCRIBE_MAC_LENGTH = 6
const UNSUBSCRIBE_MAC_SPACE = BigInt(62 ** UNSUBSCRIBE_MAC_LENGTH)

/**
 * Unsubscribe tokens: `base62(index) + base62(mac)` like recipient tokens, but with
 * 6 MAC characters of HMAC-SHA256(secret, "unsubscribe:messageId:index"), so a guess
 * passes at most once in 5.7 × 10^10 tries (an opt-out is not a click: a forged one
 * would remove a real person). The prefix keeps the two MACs independent under the
 * one secret: a recipient token reveals nothing about the unsubscribe token.
 */
export class UnsubscribeTokens {
  private readonly secret: Buffer

  constructor(secret: string) {
    this.secret = Buffer.from(secret, 'utf8')
  }

  private mac(messageId: number, index: number): number {
    const digest = createHmac('sha256', this.secret).update(`unsubscribe:${messageId}:${index}`).digest()
    // 64 bits reduced mod 62^6: the bias is below 1 in 3 × 10^8.
    return Number(digest.readBigUInt64BE(0) % UNSUBSCRIBE_MAC_SPACE)
  }

  issue(messageId: number, index: number): string {
    return encodeBase62(index) + encodeBase62(this.mac(messageId, index), UNSUBSCRIBE_MAC_LENGTH)
  }

  /** The recipient index the token carries, or null when it fails the check. */
  verify(messageId: number, token: string): number | null {
    const parts = splitToken(token, UNSUBSCRIBE_MAC_LENGTH)
    return parts !== null && this.mac(messageId, parts.index) === parts.mac ? parts.index : null
  }
}

/** The length of the unsubscribe token of the recipient at `index`. */
export function unsubscribeTokenLength(index: number): number {
  return encodeBase62(index).length + UNSUBSCRIBE_MAC_LENGTH
}

/** The length of the token of the recipient at `index`: it grows with the recipients a message has. */
export function tokenLength(index: number): number {
  return encodeBase62(index).length + MAC_LENGTH
}
