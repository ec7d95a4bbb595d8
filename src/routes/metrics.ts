import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import { buildMetricsRegistry, type MetricSources } from '../operations/metrics.js'
import type { Config } from '../config.js'
import { requireTokenIfSet } from '../tenants/auth.js'
import { errorResponses } from './schemas.js'

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
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format (text/plain; version=0.0.4): redirects by outcome, redirect latency, link cache, ' +
          'click queue, flushes, plus Node.js process metrics. When METRICS_TOKEN is set, send it as a bearer ' +
          'token; without it, no auth. Never logged.',
        security: [{ metricsToken: [] }, {}],
        response: {
          200: {
            description: 'The metrics',
            content: {
              'text/plain': {
                schema: {
                  type: 'string',
                  example:
                    'smslinks_redirects_total{outcome="redirected"} 2\nsmslinks_redirects_total{outcome="not_found"} 0\n',
                },
              },
            },
          },
          ...errorResponses([
            'unauthorized',
            401,
            'METRICS_TOKEN is set and the request does not carry it as a bearer token',
            'send METRICS_TOKEN as "Authorization: Bearer <token>"',
          ]),
        },
      },
    },
    async (_request, reply) => {
      registry ??= buildMetricsRegistry(services)
      const text = await registry.metrics()
      return reply.type(registry.contentType).send(text)
    },
  )
}
