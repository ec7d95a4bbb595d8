import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { installErrorHandlers } from './error-handlers.js'
import { metricsRoutes, type MetricsServices } from './metrics.js'

/**
 * The separate listener for Prometheus: GET /metrics and nothing else, on METRICS_PORT
 * at METRICS_HOST (127.0.0.1 unless the operator opens it; docs/adr/0013). Its own
 * Fastify instance, so none of the main port's hooks, hosts or limits apply, and the
 * metrics reach only where the operator binds them. server.ts listens it; tests inject.
 */
export async function buildMetricsListener(
  services: MetricsServices,
  log?: FastifyBaseLogger,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  if (log !== undefined) app.log = log
  installErrorHandlers(app)
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).type('text/plain; charset=utf-8').send('This port serves GET /metrics only.\n'),
  )
  await app.register(metricsRoutes, services)
  return app
}
