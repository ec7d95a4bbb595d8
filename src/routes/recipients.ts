import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { engagedRecipients } from '../recipients/engaged.js'
import { eraseRecipient } from '../recipients/erase-recipient.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Store } from '../db/store.js'
import type { SuppressionKeys } from '../recipients/suppression.js'
import { requireApiKey } from '../tenants/auth.js'
import { apiKeyErrors, errorResponses, notFoundError } from './schemas.js'

/**
 * Recipients: segments built from the tenant's own click data, and erasure on request
 * (GDPR article 17).
 */
export const recipientRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  recorder: ClickRecorder
  suppressionKeys: SuppressionKeys
}> = async (app, services) => {
  const { store, recorder } = services
  app.addHook('onRequest', requireApiKey(store))

  app.delete(
    '/v1/recipients/:recipientId',
    {
      schema: {
        tags: ['recipients'],
        security: [{ apiKey: [] }],
        operationId: 'eraseRecipient',
        summary: 'Erase a recipient',
        description:
          "Erase a recipient's personal data across the tenant's messages: the id is replaced by a tombstone, their " +
          'clicks lose user agent, network and click id, and webhook events naming them are deleted. Counters and stats ' +
          'stay as they were. An opted-out recipient stays suppressed under a keyed hash of the id: posting the same id ' +
          'again still says optedOut. The old links still redirect. 404 when the tenant has no such recipient (or it ' +
          "was erased already); another tenant's recipients are never touched.\n\nAuth: a tenant's API key.",
        params: Type.Object({
          recipientId: Type.String({ minLength: 1, maxLength: 128, description: "The sender's own recipient id" }),
        }),
        response: {
          204: Type.Null({ description: 'Erased' }),
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('recipient', 'No message of this tenant has the id, or it was erased already'),
          ),
        },
      },
    },
    async (request, reply) => {
      await eraseRecipient(services, request.tenantId, request.params.recipientId)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/recipients/engaged',
    {
      schema: {
        tags: ['analytics'],
        security: [{ apiKey: [] }],
        operationId: 'listEngagedRecipients',
        summary: 'List engaged recipients',
        description:
          "The tenant's recipient ids with a human click in the last `days` days, on any message, each once, in id " +
          'order: the "engaged" segment to keep sending to. Pass nextCursor as cursor for the next page.\n\n' +
          "Auth: a tenant's API key.",
        querystring: Type.Object(
          {
            days: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'How far back to look' }),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Ids per page' }),
            cursor: Type.Optional(
              Type.String({ minLength: 1, maxLength: 400, description: 'The nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              recipients: Type.Array(Type.String({ description: "The sender's recipient id" })),
              nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
            },
            {
              description: 'A page of recipient ids',
              examples: [{ recipients: ['cust-1001', 'cust-1002'], nextCursor: 'ZWN1c3QtMTAwMg' }],
            },
          ),
          ...errorResponses('invalid_request', 'invalid_cursor', ...apiKeyErrors),
        },
      },
    },
    async (request) =>
      engagedRecipients(
        store,
        recorder,
        request.tenantId,
        request.query.days,
        request.query.cursor,
        request.query.limit,
      ),
  )
}
