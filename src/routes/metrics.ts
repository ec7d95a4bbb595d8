import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import type { Config } from '../config.js'
import { requireTokenIfSet } from '../tenants/auth.js'
import { errorResponses } from './schemas.js'

/** What /metrics is served from: the app's registry (lazyMetricsRegistry) and the token setting. */
export interface MetricsServices {
  metricsRegistry: () => Registry
  config: Pick<Config, 'metricsToken'>
}

/**
 * GET /metrics in Prometheus text format; guarded by METRICS_TOKEN when it is set.
 * Served by the metrics listener (src/routes/metrics-listener.ts), and on the main
 * port's own hosts only when METRICS_TOKEN is set (docs/adr/0013).
 */
export const metricsRoutes: FastifyPluginAsync<MetricsServices> = async (app, services) => {
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
          'click queue, flushes, plus Node.js process metrics. Served on this port (on the service’s own hosts) ' +
          'only when the service runs with METRICS_TOKEN, sent as a bearer token; otherwise scrape the metrics ' +
          'listener (METRICS_PORT, loopback by default). Never logged.',
        security: [{ metricsToken: [] }],
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
      const registry = services.metricsRegistry()
      const text = await registry.metrics()
      return reply.type(registry.contentType).send(text)
    },
  )
}
