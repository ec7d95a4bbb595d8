import { ApiError } from '../errors.js'

export const MAX_URL_LENGTH = 2048

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
  if (!url.hostname.includes('.') && url.hostname !== 'localhost' && !url.hostname.startsWith('[')) {
    throw new ApiError(400, 'invalid_url', `${field} needs a full host name such as shop.dk`)
  }
  if (url.href.length > MAX_URL_LENGTH) {
    throw new ApiError(400, 'invalid_url', `${field} is longer than ${MAX_URL_LENGTH} characters once encoded`)
  }
  return url.href
}
