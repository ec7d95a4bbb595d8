import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../errors.js'

/** Checks one /v1 request against the limit of `key`; throws a 429 ApiError (with Retry-After set) when it is over. */
export type ApiRateLimit = (request: FastifyRequest, reply: FastifyReply, key: string) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    /** Called by the auth hooks of every /v1 route, once they know who is calling. */
    limitApiRequest: ApiRateLimit
  }
}

/** Distinct keys (API keys and addresses) remembered per window; the least recent are forgotten first. */
const REMEMBERED_KEYS = 10_000

/** Requests a minute: `perKey` for each API key (the admin token counts as one), `perAddress` for each client address calling without valid credentials; 0 = no limit for that kind. */
export interface ApiRateLimits {
  perKey: number
  perAddress: number
}

/** Rate-limit keys of calls without valid credentials start with this; the rest are API keys. */
export const ADDRESS_KEY_PREFIX = 'address:'

/**
 * The /v1 rate limit with @fastify/rate-limit, in one-minute windows: a budget per API
 * key sized for server-to-server traffic, which a sender may spend in a burst, and a
 * small one per client address for calls without valid credentials (so guessing keys,
 * or sending made-up ones, stays slow). Registered with `global: false` and called from
 * the auth hooks rather than attached to routes: the limiter needs the caller's key,
 * which only auth knows, and nothing of it runs on the redirect, the probes or the HTML
 * pages.
 */
export async function installApiRateLimit(app: FastifyInstance, limits: ApiRateLimits): Promise<void> {
  if (limits.perKey === 0 && limits.perAddress === 0) {
    app.decorate('limitApiRequest', async () => {})
    return
  }
  await app.register(rateLimit, { global: false, cache: REMEMBERED_KEYS })
  const keys = new WeakMap<FastifyRequest, string>()
  const isAddress = (key: string) => key.startsWith(ADDRESS_KEY_PREFIX)
  const handler = app.rateLimit({
    max: (_request, key) => (isAddress(key) ? limits.perAddress : limits.perKey),
    timeWindow: 60_000,
    keyGenerator: (request) => keys.get(request) ?? `${ADDRESS_KEY_PREFIX}${request.ip}`,
    errorResponseBuilder: (request, context) =>
      new ApiError(
        429,
        'rate_limited',
        isAddress(keys.get(request) ?? ADDRESS_KEY_PREFIX)
          ? `more than ${context.max} requests a minute from this address without valid credentials: retry in ${context.after}`
          : `more than ${context.max} requests a minute with this API key: retry in ${context.after}`,
      ),
  })
  app.decorate('limitApiRequest', async (request: FastifyRequest, reply: FastifyReply, key: string) => {
    if ((isAddress(key) ? limits.perAddress : limits.perKey) === 0) return
    keys.set(request, key)
    await handler.call(app, request, reply)
  })
}
