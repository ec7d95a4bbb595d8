import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Config } from '../config.js'
import { applyDeliveryReports } from '../deliveries/apply-reports.js'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { apiKeyErrors, bodyErrors, errorResponses, Id, Label, notFoundError } from './schemas.js'

export const MAX_REPORTS_PER_CALL = 10_000

const Report = Type.Object(
  {
    recipient: Label("The sender's own recipient id, as given when the message was created"),
    status: Type.Union([Type.Literal('delivered'), Type.Literal('failed')], { description: "The gateway's verdict" }),
    at: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the gateway reported it (RFC 3339 with a zone, e.g. 2026-11-23T13:36:02Z); the latest report wins. Default: the time of the call',
      }),
    ),
  },
  { additionalProperties: false },
)

/** Delivery reports from the sender's SMS gateway; CTR divides by delivered once they come. */
export const deliveryRoutes: FastifyPluginAsyncTypebox<{ store: Store; config: Pick<Config, 'now'> }> = async (
  app,
  services,
) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.post(
    '/v1/messages/:id/deliveries',
    {
      // 10,000 reports of a 128-character id and a timestamp, with room for punctuation.
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['messages'],
        security: [{ apiKey: [] }],
        operationId: 'reportDeliveries',
        summary: 'Report deliveries',
        description: [
          'Delivery reports from your SMS gateway, 1-10,000 per call (request limit 4 MiB). Once any report is ' +
            'stored, `delivered` in the stats becomes a number and `ctr` and `unsubscribeRate` divide by it.',
          'Each recipient keeps its **latest** report: one with an `at` earlier than the stored one is ignored ' +
            '(counted in `outdated`); a later one (or one with the same `at`) replaces it, and the delivered/failed ' +
            'counters move with it. Sending the same report twice changes nothing. Several reports for one ' +
            'recipient in one call are taken in order.',
          'Ids the message does not have are listed back in `unknownRecipients` and nothing is stored for them; ' +
            'the others in the call are applied.',
          "Auth: a tenant's API key.",
        ].join('\n\n'),
        params: Type.Object({ id: Id('Message id, msg_…') }),
        body: Type.Object(
          {
            reports: Type.Array(Report, {
              minItems: 1,
              maxItems: MAX_REPORTS_PER_CALL,
              description: `1-${MAX_REPORTS_PER_CALL} reports`,
            }),
          },
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
            { description: 'What was done', examples: [{ applied: 2, outdated: 0, unknownRecipients: ['cust-9999'] }] },
          ),
          ...errorResponses(
            [
              'invalid_request',
              400,
              'No reports, more than 10,000, a status other than delivered/failed, an at that is not an ISO time, or an unknown field',
              'reports[0].at must be an ISO time such as 2026-11-23T13:05:00Z',
            ],
            'invalid_json',
            ...apiKeyErrors,
            notFoundError('message', 'No such message for this tenant'),
            ...bodyErrors,
          ),
        },
      },
    },
    async (request) =>
      applyDeliveryReports(
        services.store,
        services.config.now,
        request.tenantId,
        request.params.id,
        request.body.reports,
      ),
  )
}
