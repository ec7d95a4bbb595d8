import { createHmac } from 'node:crypto'
import { decodeBase62, encodeBase62 } from './alphabet.js'

/** MAC characters at the end of every token: 62^3 = 238,328 values. */
const MAC_LENGTH = 3
const MAC_SPACE = 62 ** MAC_LENGTH
/** Index characters at most: 62^6 ≈ 5.7 × 10^10 recipients per message. */
const MAX_INDEX_LENGTH = 6

/**
 * Recipient tokens: `base62(index) + base62(mac)`, where index is the recipient's
 * place in the message and mac is HMAC-SHA256(secret, "messageId:index") cut to
 * 3 base62 characters. A token is checked without the database, and a guessed
 * one passes at most once in 238,328 tries (the issue asks for 1 in 200,000).
 * Token length: 4 below index 62, 5 below 3,844, 6 below 238,328, 7 below 14,776,336.
 */
export class RecipientTokens {
  private readonly secret: Buffer

  constructor(secret: string) {
    this.secret = Buffer.from(secret, 'utf8')
  }

  private mac(messageId: number, index: number): number {
    const digest = createHmac('sha256', this.secret).update(`${messageId}:${index}`).digest()
    // 48 bits reduced mod 238,328: the bias is below 1 in 10^9.
    return digest.readUIntBE(0, 6) % MAC_SPACE
  }

  issue(messageId: number, index: number): string {
    return encodeBase62(index) + encodeBase62(this.mac(messageId, index), MAC_LENGTH)
  }

  /** The recipient index the token carries, or null when it fails the check. */
  verify(messageId: number, token: string): number | null {
    const indexLength = token.length - MAC_LENGTH
    if (indexLength < 1 || indexLength > MAX_INDEX_LENGTH) return null
    // One spelling per index: a leading zero would let one index be tried under many names.
    if (indexLength > 1 && token.charCodeAt(0) === 48) return null
    const index = decodeBase62(token, 0, indexLength)
    const mac = decodeBase62(token, indexLength)
    if (index < 0 || mac < 0) return null
    return this.mac(messageId, index) === mac ? index : null
  }
}

/** The length of the token of the recipient at `index`: it grows with the recipients a message has. */
export function tokenLength(index: number): number {
  return encodeBase62(index).length + MAC_LENGTH
}
