import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { engagedRecipients } from '../recipients/engaged.js'
import type { Services } from '../services.js'
import { requireApiKey } from '../tenants/auth.js'
import { errorResponses } from './schemas.js'

/** Segments of the tenant's recipients built from its own click data. */
export const recipientRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.get(
    '/v1/recipients/engaged',
    {
      schema: {
        tags: ['analytics'],
        security: [{ apiKey: [] }],
        summary: 'List engaged recipients',
        description:
          "The tenant's recipient ids with a human click in the last `days` days, on any message, each once, in id " +
          'order. Pass nextCursor as cursor for the next page.',
        querystring: Type.Object(
          {
            days: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            { recipients: Type.Array(Type.String()), nextCursor: Type.Union([Type.String(), Type.Null()]) },
            { examples: [{ recipients: ['cust-1001', 'cust-1002'], nextCursor: 'ZWN1c3QtMTAwMg' }] },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => engagedRecipients(services, request.tenantId, request.query.days, request.query.cursor, request.query.limit),
  )
}
