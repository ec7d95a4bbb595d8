import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI 3 document, generated from the route schemas, at /openapi.json, and a
 * browsable page at /docs. Call before any route is registered: the generator sees
 * only routes added after it.
 */
export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'smslinks',
        version: '0.1.0',
        description:
          'Per-recipient branded short links for SMS, with exact unique clicks and CTR per message. ' +
          'Errors are JSON `{ "error": "<stable_code>", "message": "<what to fix>" }`. ' +
          "Short links themselves (`GET /{code}-{token}` on a tenant's host) are not API routes and are not listed here.",
      },
      tags: [
        { name: 'messages', description: 'A tenant’s messages, short links and stats (API key)' },
        { name: 'tenants', description: 'Tenants, domains and API keys (ADMIN_TOKEN)' },
        { name: 'operations', description: 'Probes, metrics and this document' },
        { name: 'analytics', description: 'Raw clicks, roll-ups and A/B verdicts (API key)' },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: "A tenant's API key, `sl_…`" },
          adminToken: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN the service runs with' },
          metricsToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'METRICS_TOKEN, when the service runs with one',
          },
        },
      },
    },
    // The redirect takes any path on a tenant's host; it is described in the info above.
    transform: ({ schema, url }) => ({ schema: url === '/:slug' ? { ...schema, hide: true } : schema, url }),
  })
  // staticCSP: the page's own Content-Security-Policy (its scripts and styles are files
  // under /docs), set by a hook scoped to /docs. Without upgrade-insecure-requests: an
  // install reached over plain http would otherwise ask for its own assets over https.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    logLevel: 'silent',
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, '').replace(/\s+;/g, ';'),
  })

  app.get(
    '/openapi.json',
    {
      logLevel: 'silent',
      schema: {
        tags: ['operations'],
        summary: 'This OpenAPI document',
        description: 'The OpenAPI 3 document of this API, generated from the route schemas. Browsable at /docs.',
      },
    },
    async () => app.swagger(),
  )
}
