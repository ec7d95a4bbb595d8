import { customAlphabet } from 'nanoid'
import { BASE62 } from '../base62.js'

/** Six base62 characters: 62^6 ≈ 5.7 × 10^10 codes per domain. */
export const CODE_LENGTH = 6

/** Paths the service answers itself on every host; a code never takes one of them. */
const RESERVED = new Set(['healthz', 'readyz', 'metrics', 'docs', 'openapi', 'v1', 'u'])

const randomCode = customAlphabet(BASE62, CODE_LENGTH)

/** A fresh random short code; the caller retries on the rare collision within a domain. */
export function newCode(): string {
  let code = randomCode()
  while (RESERVED.has(code.toLowerCase())) code = randomCode()
  return code
}

export interface ShortPath {
  code: string
  /** The recipient token after `-`, or null for a bare code. */
  token: string | null
}

/**
 * Splits the path segment of a short link, `{code}` or `{code}-{token}`.
 * Anything else (wrong length, foreign characters) is null: not one of our links.
 */
export function parseShortPath(segment: string): ShortPath | null {
  const dash = segment.indexOf('-')
  const code = dash === -1 ? segment : segment.slice(0, dash)
  if (code.length !== CODE_LENGTH) return null
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i)
    const isBase62 = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    if (!isBase62) return null
  }
  return { code, token: dash === -1 ? null : segment.slice(dash + 1) }
}
