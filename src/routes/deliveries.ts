import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { applyDeliveryReports } from '../deliveries/apply-reports.js'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { errorResponses, Id, Label } from './schemas.js'

export const MAX_REPORTS_PER_CALL = 10_000

const Report = Type.Object(
  {
    recipient: Label("The sender's own recipient id, as given when the message was created"),
    status: Type.Union([Type.Literal('delivered'), Type.Literal('failed')]),
    at: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'When the gateway reported it; the latest report wins. Default: now',
      }),
    ),
  },
  { additionalProperties: false },
)

/** Delivery reports from the sender's SMS gateway; CTR divides by delivered once they come. */
export const deliveryRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, services) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.post(
    '/v1/messages/:id/deliveries',
    {
      // 10,000 reports of a 128-character id and a timestamp, with room for punctuation.
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['messages'],
        security: [{ apiKey: [] }],
        summary: 'Report deliveries',
        description:
          'Report delivered or failed per recipient. A recipient keeps its latest report; repeats never double-count. ' +
          'Unknown recipient ids are listed back and nothing is stored for them.',
        params: Type.Object({ id: Id('Message id') }),
        body: Type.Object(
          { reports: Type.Array(Report, { minItems: 1, maxItems: MAX_REPORTS_PER_CALL }) },
          {
            additionalProperties: false,
            examples: [
              {
                reports: [
                  { recipient: 'cust-1001', status: 'delivered', at: '2026-11-23T13:07:02Z' },
                  { recipient: 'cust-1002', status: 'failed', at: '2026-11-23T13:07:05Z' },
                  { recipient: 'cust-9999', status: 'delivered' },
                ],
              },
            ],
          },
        ),
        response: {
          200: Type.Object(
            {
              applied: Type.Integer({ description: 'Reports stored' }),
              outdated: Type.Integer({
                description: 'Reports older than the one already stored for the recipient: ignored',
              }),
              unknownRecipients: Type.Array(Type.String(), { description: 'Recipient ids the message does not have' }),
            },
            { examples: [{ applied: 2, outdated: 0, unknownRecipients: ['cust-9999'] }] },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => applyDeliveryReports(services.store, request.tenantId, request.params.id, request.body.reports),
  )
}
