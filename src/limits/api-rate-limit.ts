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

/**
 * The /v1 rate limit with @fastify/rate-limit: `perMinute` requests per API key, or
 * per client address for requests without a valid key (so sending made-up keys does
 * not escape the limit). Registered with `global: false` and called from the auth
 * hooks rather than attached to routes: the limiter needs the caller's key, which only
 * auth knows, and nothing of it runs on the redirect, the probes or the HTML pages.
 */
export async function installApiRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  if (perMinute === 0) {
    app.decorate('limitApiRequest', async () => {})
    return
  }
  await app.register(rateLimit, { global: false, cache: REMEMBERED_KEYS })
  const keys = new WeakMap<FastifyRequest, string>()
  const handler = app.rateLimit({
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => keys.get(request) ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'rate_limited',
        `more than ${context.max} requests a minute with this API key (or from this address without one): retry in ${context.after}`,
      ),
  })
  app.decorate('limitApiRequest', async (request: FastifyRequest, reply: FastifyReply, key: string) => {
    keys.set(request, key)
    await handler.call(app, request, reply)
  })
}
