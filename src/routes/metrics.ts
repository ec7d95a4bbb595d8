import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import { buildMetricsRegistry, type MetricSources } from '../operations/metrics.js'
import type { Config } from '../config.js'
import { requireTokenIfSet } from '../tenants/auth.js'
import { ErrorBody } from './schemas.js'

/** GET /metrics in Prometheus text format; guarded by METRICS_TOKEN when it is set. */
export const metricsRoutes: FastifyPluginAsync<MetricSources & { config: Pick<Config, 'metricsToken'> }> = async (
  app,
  services,
) => {
  // Built on the first scrape: an instance nobody scrapes never starts the default
  // collectors (event-loop delay monitor, GC observer).
  let registry: Registry | null = null
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
          'plus Node.js process metrics. When METRICS_TOKEN is set, send it as a bearer token.',
        security: [{ metricsToken: [] }, {}],
        response: { 401: ErrorBody },
      },
    },
    async (_request, reply) => {
      registry ??= buildMetricsRegistry(services)
      const text = await registry.metrics()
      return reply.type(registry.contentType).send(text)
    },
  )
}
