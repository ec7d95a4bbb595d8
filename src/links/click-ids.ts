import { customAlphabet } from 'nanoid'
import { BASE62, encodeBase62 } from '../base62.js'

/**
 * Click ids: a random prefix drawn once per process, then a counter, both base62
 * (`4fTq9ZxB` + `0`, `1`, … `zz`, …). The redirect makes one per click without any
 * randomness or hashing per request. Eight random characters (62^8 ≈ 2 × 10^14)
 * keep prefixes of restarts and of several instances apart; the counter keeps the
 * ids of one process apart. An id says nothing about the recipient.
 */
const PREFIX = customAlphabet(BASE62, 8)()
let counter = 0

export function newClickId(): string {
  return PREFIX + encodeBase62(counter++)
}
