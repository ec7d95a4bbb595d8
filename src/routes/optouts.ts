import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { listOptOuts } from '../unsubscribe/optouts.js'
import { errorResponses } from './schemas.js'

/** The tenant's suppression list, for senders to keep their own in sync. */
export const optOutRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, services) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.get(
    '/v1/optouts',
    {
      schema: {
        tags: ['opt-outs'],
        security: [{ apiKey: [] }],
        summary: 'List opt-outs',
        description:
          "The tenant's opted-out recipients, oldest first. Keep nextCursor and pass it as since to get only what came after.",
        querystring: Type.Object(
          {
            since: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'nextCursor of an earlier page' }),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              optOuts: Type.Array(
                Type.Object({
                  recipient: Type.String({ description: "The sender's own recipient id" }),
                  messageId: Type.String({ description: 'The message whose unsubscribe page was confirmed' }),
                  at: Type.String({ format: 'date-time' }),
                }),
              ),
              nextCursor: Type.String({ description: 'Pass as since for the next page, or later for new opt-outs' }),
              hasMore: Type.Boolean(),
            },
            {
              examples: [
                {
                  optOuts: [
                    { recipient: 'cust-1002', messageId: 'msg_p7Z666gD109LzY4S', at: '2026-11-23T13:20:41.118Z' },
                  ],
                  nextCursor: 'bzE',
                  hasMore: false,
                },
              ],
            },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => listOptOuts(services.store, request.tenantId, request.query.since, request.query.limit),
  )
}
