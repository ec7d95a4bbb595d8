import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { Store } from '../db/store.js'
import { ApiError } from '../errors.js'
import { ADDRESS_KEY_PREFIX } from '../limits/api-rate-limit.js'
import { hashApiKey } from './api-keys.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Internal id of the tenant whose API key authenticated this request. */
    tenantId: number
  }
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (!header || !header.toLowerCase().startsWith('bearer ')) return null
  return header.slice(7).trim() || null
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/** The rate-limit key of a request without valid credentials: its client address. */
const byAddress = (request: FastifyRequest): string => `${ADDRESS_KEY_PREFIX}${request.ip}`

/**
 * onRequest hook for tenant routes: a valid, unrevoked API key, or 401. Also applies
 * the API rate limit, per key, or per address when the key is missing or wrong.
 */
export function requireApiKey(store: Store): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = bearer(request)
    const owner = key === null ? null : await store.findApiKey(hashApiKey(key))
    await request.server.limitApiRequest(request, reply, owner ? `key:${owner.keyId}` : byAddress(request))
    if (key === null) {
      throw new ApiError(401, 'unauthorized', 'send your API key as "Authorization: Bearer <key>"')
    }
    if (!owner) throw new ApiError(401, 'unauthorized', 'the API key is not valid or has been revoked')
    request.tenantId = owner.tenantId
  }
}

/** onRequest hook for admin routes: ADMIN_TOKEN, compared in constant time, and the API rate limit. */
export function requireAdmin(adminToken: string | null): onRequestAsyncHookHandler {
  const expected = adminToken === null ? null : sha256(adminToken)
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(request)
    const valid = expected !== null && token !== null && timingSafeEqual(sha256(token), expected)
    await request.server.limitApiRequest(request, reply, valid ? 'admin' : byAddress(request))
    if (expected === null) {
      throw new ApiError(403, 'admin_disabled', 'admin endpoints are off: set ADMIN_TOKEN to use them')
    }
    if (!valid) throw new ApiError(401, 'unauthorized', 'send ADMIN_TOKEN as "Authorization: Bearer <token>"')
  }
}

/**
 * onRequest hook for a route an optional secret guards (METRICS_TOKEN): open while
 * the variable is unset, otherwise its bearer token, compared in constant time.
 */
export function requireTokenIfSet(token: string | null, variable: string): onRequestAsyncHookHandler {
  const expected = token === null ? null : sha256(token)
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    if (expected === null) return
    const sent = bearer(request)
    if (sent === null || !timingSafeEqual(sha256(sent), expected)) {
      throw new ApiError(401, 'unauthorized', `send ${variable} as "Authorization: Bearer <token>"`)
    }
  }
}
