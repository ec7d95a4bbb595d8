import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { listOptOuts } from '../unsubscribe/optouts.js'
import { apiKeyErrors, errorResponses } from './schemas.js'

/** The tenant's suppression list, for senders to keep their own in sync. */
export const optOutRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, services) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.get(
    '/v1/optouts',
    {
      schema: {
        tags: ['opt-outs'],
        security: [{ apiKey: [] }],
        operationId: 'listOptOuts',
        summary: 'List opt-outs',
        description:
          "The tenant's opt-out list (recipients who confirmed an unsubscribe page), oldest first, so you can keep " +
          'your own suppression list in sync. A recipient id is on it once, from its first confirmation, and stays ' +
          'on it; an erased recipient shows as erased:… (a keyed hash of the id). `nextCursor` is always set, on the ' +
          'last page too: keep it and pass it as `since` next time to get only what came after. `hasMore` says ' +
          "whether to ask again at once.\n\nAuth: a tenant's API key.",
        querystring: Type.Object(
          {
            since: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'nextCursor of an earlier page' }),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Opt-outs per page' }),
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
                  at: Type.String({ format: 'date-time', description: 'When the opt-out was confirmed' }),
                }),
                { description: 'Oldest first' },
              ),
              nextCursor: Type.String({ description: 'Pass as since for the next page, or later for new opt-outs' }),
              hasMore: Type.Boolean({ description: 'More opt-outs wait: ask again at once' }),
            },
            {
              description: 'A page of opt-outs',
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
          ...errorResponses(
            'invalid_request',
            [
              'invalid_cursor',
              400,
              'since is not a nextCursor from an earlier answer',
              'since must be a nextCursor value from an earlier page',
            ],
            ...apiKeyErrors,
          ),
        },
      },
    },
    async (request) => listOptOuts(services.store, request.tenantId, request.query.since, request.query.limit),
  )
}
