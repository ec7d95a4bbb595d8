import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { PAGE_DOCS } from './page-docs.js'

/**
 * The version of the /v1 API this document describes. Each change to /v1 bumps it and
 * gets an entry in docs/CHANGELOG.md.
 */
export const API_VERSION = '1.2.1'

interface QuerySchema {
  properties?: Record<string, { default?: unknown }>
  required?: string[]
}

/**
 * A query parameter with a default (`limit`) is required by the route's schema, so that
 * the handler always has a value, but a caller may leave it out: the validator fills
 * it in. The document says so, or generated clients would demand it.
 */
function withOptionalDefaults<T extends { querystring?: unknown } | undefined>(schema: T): T {
  const query = schema?.querystring as QuerySchema | undefined
  if (!query?.required || !query.properties) return schema
  const required = query.required.filter((name) => query.properties?.[name]?.default === undefined)
  return { ...schema, querystring: { ...query, required } }
}

/**
 * The OpenAPI 3 document, generated from the route schemas, at /openapi.json, and a
 * browsable page at /docs. Call before any route is registered: the generator sees
 * only routes added after it. `publicUrl` (PUBLIC_URL) is where the API is served.
 */
export async function registerApiDocs(app: FastifyInstance, publicUrl: URL): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'smslinks',
        version: API_VERSION,
        license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
        description: [
          'Per-recipient branded short links for SMS, with exact unique clicks and CTR per message.',
          "**Auth.** A bearer token in the `Authorization` header: a tenant's API key (`sl_…`) for the tenant API, " +
            'the ADMIN_TOKEN the service runs with for `/v1/tenants…` (without one configured those answer ' +
            '`403 admin_disabled`). The probes, this document, short links and unsubscribe pages take none; ' +
            '`/metrics` takes METRICS_TOKEN when the service runs with one. A tenant sees only its own data.',
          '**Bodies** are JSON (`Content-Type: application/json`). Request bodies, query strings and path ' +
            'parameters are validated against the schemas here: a missing field, a wrong type, a value out of ' +
            'range or an unknown field is `400 invalid_request`, and bad input never changes stored data. ' +
            'A "label" is a string of 1-128 characters that does not start or end with whitespace.',
          '**Errors** are JSON `{ "error": "<stable_code>", "message": "<what to fix>" }` with a 4xx status for ' +
            "the caller's mistakes; `error` is stable for programs, `message` may change. Each operation lists " +
            'the codes it can return. A path that is not valid percent-encoding (e.g. `/v1/messages/%zz`) is ' +
            '`400 invalid_path`, and an unknown /v1 route `404 not_found`. Any /v1 call may also answer `429 rate_limited` (more than ' +
            'API_RATE_LIMIT_PER_MINUTE calls a minute with one key; Retry-After says how long to wait), and a ' +
            '`500 internal_error` is always a bug on our side, logged and never detailed.',
          "**Short links and unsubscribe pages** are served on the tenants' own hosts, not on the API's: " +
            'their operations name that server.',
        ].join('\n\n'),
      },
      servers: [{ url: publicUrl.origin, description: 'This service (PUBLIC_URL)' }],
      tags: [
        { name: 'messages', description: 'A tenant’s messages, short links and stats (API key)' },
        {
          name: 'tenants',
          description:
            "Tenants, domains and API keys (ADMIN_TOKEN). There are no endpoints yet to list a tenant's keys, or to remove a domain.",
        },
        { name: 'operations', description: 'Probes, metrics and this document' },
        { name: 'analytics', description: 'Raw clicks, roll-ups and A/B verdicts (API key)' },
        { name: 'opt-outs', description: "The tenant's opt-out list (API key)" },
        { name: 'webhooks', description: 'Event webhooks and their deliveries (API key)' },
        { name: 'recipients', description: 'Erasure of a recipient (API key)' },
        { name: 'short links', description: "What recipients tap, on a tenant's host (no auth)" },
        { name: 'unsubscribe pages', description: "Recipients' unsubscribe pages, on a tenant's host (no auth)" },
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
    // The pages recipients open have no route schema (see page-docs.ts): their description is given here.
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0]
      const page = PAGE_DOCS[`${method} ${url}`] as typeof schema | undefined
      return { schema: page ?? withOptionalDefaults(schema), url }
    },
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
        operationId: 'getOpenApiDocument',
        summary: 'This OpenAPI document',
        description:
          'The OpenAPI 3 document of this API, generated from the route schemas; `info.version` is the version of ' +
          'the /v1 API. Browsable at /docs. No auth, never logged.',
        security: [],
      },
      // The answer's schema is for the document only: a response schema would make Fastify serialize with it.
      config: {
        swaggerTransform: ({ schema, url }) => ({
          schema: {
            ...schema,
            response: {
              200: {
                description: 'The document',
                type: 'object',
                additionalProperties: true,
                examples: [{ openapi: '3.0.3', info: { title: 'smslinks', version: API_VERSION }, paths: {} }],
              },
            },
          },
          url,
        }),
      },
    },
    async () => app.swagger(),
  )
}
