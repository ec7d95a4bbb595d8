/**
 * Base62: the characters of short codes and recipient tokens. No `-` (it separates
 * code from token) and no `_`, so a link survives any SMS gateway and URL parser.
 */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

const VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < BASE62.length; i++) VALUES[BASE62.charCodeAt(i)] = i

/** Base62 digits of a non-negative integer, without leading zeros (0 is "0"). */
export function encodeBase62(value: number, width = 0): string {
  let out = ''
  do {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  } while (value > 0)
  return out.padStart(width, '0')
}

/** The integer a base62 string stands for, or -1 when it holds another character. */
export function decodeBase62(text: string, start = 0, end = text.length): number {
  let value = 0
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i)
    const digit = code < 128 ? VALUES[code]! : -1
    if (digit < 0) return -1
    value = value * 62 + digit
  }
  return value
}
