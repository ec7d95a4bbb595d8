import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { DomainRegistry } from '../tenants/domain-registry.js'
import { ApiError } from '../errors.js'
import { errorResponses } from './schemas.js'

/**
 * GET /tls/check?domain=: the question a TLS-terminating proxy with on-demand
 * certificates (Caddy's `on_demand_tls { ask … }`) asks before it gets a certificate
 * for a host it has not seen. Answered from the in-memory domain registry, so a
 * domain added through the API is allowed at once. Only on the service's own hosts
 * (never through a tenant's domain), without auth and outside the /v1 rate limit: the
 * proxy asks once per new host name, and a refusal here is what keeps anyone else's
 * names from making the proxy request certificates.
 */
export const tlsCheckRoutes: FastifyPluginAsyncTypebox<{ domains: DomainRegistry }> = async (app, { domains }) => {
  app.get(
    '/tls/check',
    {
      config: { hosts: 'api' },
      schema: {
        tags: ['operations'],
        operationId: 'checkTlsDomain',
        summary: 'May this host have a certificate?',
        description:
          "For a TLS proxy's on-demand certificates (Caddy: `on_demand_tls { ask http://127.0.0.1:3000/tls/check }`): " +
          '200 when `domain` is one of the tenants’ domains (whatever port it was registered with; case and a ' +
          'trailing dot do not matter), 404 for any other name. Answered from memory; a domain added through the ' +
          'API is allowed at once. Only on the service’s own hosts (PUBLIC_URL’s and API_HOSTS), no auth, not ' +
          'rate limited. See docs/tls.md.',
        security: [],
        querystring: Type.Object(
          {
            domain: Type.String({
              minLength: 1,
              maxLength: 253,
              description: 'The host name the proxy was asked for (TLS SNI), without port',
            }),
          },
          { additionalProperties: true },
        ),
        response: {
          200: Type.Object(
            { domain: Type.String({ description: 'The host name, as asked' }) },
            {
              description: 'A tenant’s domain: the proxy may get it a certificate',
              examples: [{ domain: 's.brand.dk' }],
            },
          ),
          ...errorResponses('invalid_request', [
            'unknown_domain',
            404,
            'The name is not a tenant’s domain: no certificate',
            's.unknown.example is not a domain of any tenant',
          ]),
        },
      },
    },
    async (request) => {
      const { domain } = request.query
      if (!domains.hasHostName(domain))
        throw new ApiError(404, 'unknown_domain', `${domain} is not a domain of any tenant`)
      return { domain }
    },
  )
}
