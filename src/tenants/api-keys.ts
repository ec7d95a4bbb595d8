import { createHash } from 'node:crypto'
import { customAlphabet } from 'nanoid'
import { BASE62 } from '../base62.js'

const secretPart = customAlphabet(BASE62, 40)

/** A new API key: `sl_` and 40 base62 characters (about 238 bits). */
export function newApiKey(): string {
  return `sl_${secretPart()}`
}

/**
 * The stored form of a key. A plain SHA-256 is enough: keys are long and random,
 * so there is nothing to brute-force, and a lookup by hash never compares secrets.
 */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}
