import type { FastifyError, FastifyInstance } from 'fastify'
import { isDatabaseUnavailable } from '../db/database-errors.js'
import { ApiError } from '../errors.js'
import { RETRY_AFTER_SECONDS, sendUnavailablePage } from './pages.js'

/** Fastify's own client errors, with the code we answer them under. */
const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
}

/** Every error leaves as JSON; a 5xx never carries the internal message or stack. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.statusCode).send({ error: error.code, message: error.message })
    }
    if (error.validation) {
      return reply.code(400).send({ error: 'invalid_request', message: error.message })
    }
    const status = error.statusCode ?? 500
    if (status < 500) {
      const code = FRAMEWORK_CODES[error.code] ?? 'invalid_request'
      return reply.code(status).send({ error: code, message: error.message })
    }
    // An API request has a logger of its own; other routes (redirects, pages) have none.
    const api = request.url.startsWith('/v1/')
    const log = api ? request.log : app.log
    if (isDatabaseUnavailable(error)) {
      // Not our bug and not the caller's: the same request may succeed in a moment.
      log.warn({ err: error, reqId: request.id }, 'request failed: the database is unavailable')
      if (!api && request.method === 'GET') return sendUnavailablePage(reply)
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({
        error: 'database_unavailable',
        message: 'The database cannot be reached right now. Try again shortly.',
      })
    }
    log.error({ err: error, reqId: request.id }, 'request failed')
    return reply
      .code(500)
      .send({ error: 'internal_error', message: 'Something went wrong on our side; it has been logged.' })
  })
}
