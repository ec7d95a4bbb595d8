import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, RouteOptions } from 'fastify'
import { pino, type Logger } from 'pino'

/**
 * The service's logger. Fastify itself is given none: a Fastify logger costs every
 * request, taps included, a child logger and two response listeners, a cost the
 * redirect cannot afford (docs/adr/0005). API requests get their
 * request-scoped logger and their log line from installRequestLogging() instead.
 *
 * `options` is what Fastify's `logger` option would take: `{ level, stream }`, or
 * false for none.
 */
export function createLogger(options: FastifyServerOptions['logger'], level: string): Logger {
  if (options === false) return pino({ enabled: false })
  if (options === undefined || options === true) return pino({ level })
  const { stream, ...rest } = options as { stream?: NodeJS.WritableStream; level?: string }
  return pino({ level, ...rest }, stream ?? process.stdout)
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

/**
 * Every `/v1` route logs one line when its answer is sent, with a request id that
 * its handler's own log lines carry too. Redirects, pages and probes log nothing:
 * a line per tap would halve redirect throughput. Must be installed before routes.
 */
export function installRequestLogging(app: FastifyInstance, log: Logger): void {
  async function start(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    request.log = reply.log = log.child({ reqId: request.id })
  }
  async function completed(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    }
    reply.log.info(line, 'request completed')
  }
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith('/v1/')) return
    route.onRequest = [start, ...asArray(route.onRequest)] as RouteOptions['onRequest']
    route.onResponse = [...asArray(route.onResponse), completed] as RouteOptions['onResponse']
  })
}
