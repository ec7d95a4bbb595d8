import { DurationHistogram, REDIRECT_BUCKETS } from '../duration-histogram.js'

/**
 * What the redirect counts about itself, as plain numbers it bumps with `++`:
 * metrics.ts turns them into Prometheus metrics when /metrics is scraped, so the
 * hot path never calls prom-client.
 */
export class RedirectCounters {
  /** Answered with a 302. */
  redirected = 0
  /** On a known host, but the path is not a code or no link has that code. */
  notFound = 0
  /** The Host header is not one of the tenants' domains. */
  unknownHost = 0
  /** Not in the link cache while the database could not be reached: answered 503, try again. */
  unavailable = 0
  /** Redirected, but not counted as a click: the address was over REDIRECT_RATE_LIMIT_PER_MINUTE. */
  rateLimited = 0
  /** Time from the request's arrival to the 302 being written, for redirected requests. */
  readonly latency = new DurationHistogram(REDIRECT_BUCKETS)
}
