import type { FastifyPluginAsync } from 'fastify'
import { metricsRegistryOf } from '../operations/metrics.js'
import type { Services } from '../services.js'
import { requireTokenIfSet } from '../tenants/auth.js'
import { ErrorBody } from './schemas.js'

/**
 * GET /metrics in Prometheus text format; guarded by METRICS_TOKEN when it is set.
 * Served by the metrics listener (src/operations/metrics-listener.ts), and on the main
 * port's own hosts only when METRICS_TOKEN is set (docs/adr/0013).
 */
export const metricsRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.addHook('onRequest', requireTokenIfSet(services.config.metricsToken, 'METRICS_TOKEN'))

  app.get(
    '/metrics',
    {
      logLevel: 'silent',
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format: redirects by outcome, redirect latency, link cache, click queue, flushes, ' +
          'plus Node.js process metrics. Served on this port (on the service’s own hosts) only when the service ' +
          'runs with METRICS_TOKEN, sent as a bearer token; otherwise scrape the metrics listener (METRICS_PORT).',
        security: [{ metricsToken: [] }],
        response: { 401: ErrorBody },
      },
    },
    async (_request, reply) => {
      const registry = metricsRegistryOf(services)
      const text = await registry.metrics()
      return reply.type(registry.contentType).send(text)
    },
  )
}
