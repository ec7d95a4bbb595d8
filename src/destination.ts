import { ApiError } from './errors.js'

export const MAX_URL_LENGTH = 2048

/** A DNS label as it reaches us after URL's punycode step: letters, digits, inner hyphens (and `_`, seen in the wild). */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/**
 * A host a phone can resolve: localhost, an IP literal, or at least two DNS labels
 * (`shop.dk`, `shop.dk.`), none empty or longer than 63 characters. URL alone accepts
 * `.`, `a..dk` and `-.dk`, which no resolver does.
 */
function isRealHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.startsWith('[')) return true
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname
  const labels = name.split('.')
  return name.length <= 253 && labels.length >= 2 && labels.every((label) => LABEL.test(label))
}

/**
 * Checks a destination URL and returns the form it is stored and redirected to:
 * absolute http(s), a real host, no credentials, within 2,048 characters after
 * normalisation (international hosts become punycode, spaces get escaped), so the
 * Location header is always valid ASCII.
 */
export function normalizeDestination(input: string, field: string): string {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    throw new ApiError(400, 'invalid_url', `${field} must be an absolute URL such as https://shop.dk/sale`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError(400, 'invalid_url', `${field} must start with http:// or https://`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new ApiError(400, 'invalid_url', `${field} must not carry a user name or password`)
  }
  if (!isRealHost(url.hostname)) {
    throw new ApiError(400, 'invalid_url', `${field} needs a full host name such as shop.dk`)
  }
  if (url.href.length > MAX_URL_LENGTH) {
    throw new ApiError(400, 'invalid_url', `${field} is longer than ${MAX_URL_LENGTH} characters once encoded`)
  }
  return url.href
}
