import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { campaignVariants } from '../analytics/ab-test.js'
import { campaignRollUp, kindRollUp } from '../analytics/rollups.js'
import type { Config } from '../config.js'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { apiKeyErrors, errorResponses, MessageKindSchema, notFoundError, UnsubscribesBySource } from './schemas.js'

const Rate = (description: string) => Type.Union([Type.Number(), Type.Null()], { description })
const Count = (description: string) => Type.Integer({ description })
const Delivered = Type.Union([Type.Integer(), Type.Null()], {
  description: 'Delivered recipients of the messages with delivery reports; null when none has any',
})

const RollUpFigures = {
  messages: Count('Messages summed'),
  recipients: Count('Recipients of those messages'),
  delivered: Delivered,
  uniqueClickers: Count('Recipients with a human click, per message, summed'),
  ctr: Rate("Unique clickers ÷ reach (each message's delivered, or recipients while it has no report), 4 places"),
  unsubscribes: Count('Recipients who opted out of these messages by any channel, per message, summed'),
  unsubscribesBySource: UnsubscribesBySource,
  unsubscribeRate: Rate('unsubscribes (every channel) ÷ reach, 4 places'),
  benchmark: Type.Union(
    [
      Type.Object({
        ctrFrom: Type.Number({ description: 'Low end of the band' }),
        ctrTo: Type.Number({ description: 'High end of the band' }),
        source: Type.String({ description: 'Where the band comes from' }),
      }),
      Type.Null(),
    ],
    { description: 'Published CTR band for this kind of message; null for transactional texts and mixed kinds' },
  ),
  position: Type.Union([Type.Literal('below'), Type.Literal('within'), Type.Literal('above'), Type.Null()], {
    description: 'Where ctr stands against the band; null without a band or a CTR',
  }),
}

const rollUpExample = {
  messages: 2,
  recipients: 20_000,
  delivered: 19_640,
  uniqueClickers: 2_160,
  ctr: 0.11,
  unsubscribes: 41,
  unsubscribesBySource: { link: 9, reply: 30, import: 0, support: 2 },
  unsubscribeRate: 0.0021,
  benchmark: { ctrFrom: 0.089, ctrTo: 0.145, source: 'published SMS marketing benchmarks, campaigns' },
  position: 'within',
}

const CampaignParams = Type.Object({
  campaign: Type.String({ minLength: 1, maxLength: 128, description: 'Campaign name' }),
})

/** Roll-ups over a tenant's messages and A/B verdicts: summed counters, never raw clicks. */
export const analyticsRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  config: Pick<Config, 'abSignificance'>
}> = async (app, services) => {
  app.addHook('onRequest', requireApiKey(services.store))
  const docs = { tags: ['analytics'], security: [{ apiKey: [] }] }

  app.get(
    '/v1/campaigns/:campaign/stats',
    {
      schema: {
        ...docs,
        operationId: 'getCampaignStats',
        summary: "A campaign's stats",
        description:
          'Every message of the tenant with this campaign name, summed: recipients, delivered, unique clickers, CTR and ' +
          "unsubscribe rate, with the published CTR band for the messages' kind and where the CTR stands. Summed " +
          "from each message's counters, never from raw clicks.\n\nAuth: a tenant's API key.",
        params: CampaignParams,
        response: {
          200: Type.Object(
            {
              campaign: Type.String({ description: 'The campaign name' }),
              kind: Type.Union([MessageKindSchema, Type.Null()], {
                description: "The messages' kind; null when mixed",
              }),
              ...RollUpFigures,
            },
            {
              description: "The campaign's figures",
              examples: [{ campaign: 'spring-sale', kind: 'campaign', ...rollUpExample }],
            },
          ),
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('campaign', 'The tenant has no message with this campaign'),
          ),
        },
      },
    },
    async (request) => campaignRollUp(services.store, request.tenantId, request.params.campaign),
  )

  app.get(
    '/v1/stats',
    {
      schema: {
        ...docs,
        operationId: 'getKindStats',
        summary: 'Stats of one kind of message',
        description:
          "The tenant's messages of one kind (campaign, flow, transactional) created from `from` (inclusive) to `to` " +
          '(exclusive), both optional, summed, with the published CTR band for that kind and where the CTR stands. ' +
          "Transactional texts have no published band: benchmark and position are null.\n\nAuth: a tenant's API key.",
        querystring: Type.Object(
          {
            kind: { ...MessageKindSchema, description: 'The kind of message to sum' },
            from: Type.Optional(Type.String({ format: 'date-time', description: 'Messages created at or after this' })),
            to: Type.Optional(Type.String({ format: 'date-time', description: 'Messages created before this' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              kind: MessageKindSchema,
              from: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
                description: 'As asked; null: from the start',
              }),
              to: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
                description: 'As asked; null: up to now',
              }),
              ...RollUpFigures,
            },
            {
              description: 'The figures of the messages of this kind',
              examples: [
                {
                  kind: 'campaign',
                  from: '2026-11-01T00:00:00.000Z',
                  to: '2026-12-01T00:00:00.000Z',
                  ...rollUpExample,
                },
              ],
            },
          ),
          ...errorResponses(
            'invalid_request',
            ['invalid_range', 400, 'to is not later than from', 'to must be later than from'],
            ...apiKeyErrors,
          ),
        },
      },
    },
    async (request) =>
      kindRollUp(services.store, request.tenantId, request.query.kind, request.query.from, request.query.to),
  )

  app.get(
    '/v1/campaigns/:campaign/variants',
    {
      schema: {
        ...docs,
        operationId: 'getCampaignVariants',
        summary: "A campaign's A/B test",
        description:
          "Each variant label of the campaign's messages: reach, unique clickers and CTR, and a two-proportion z-test " +
          'of its CTR against the best variant (two-sided p-value). `winner` names the best variant only when every ' +
          'other variant differs from it at AB_SIGNIFICANCE; otherwise it is null and the test needs more recipients. ' +
          "Messages without a variant label are left out.\n\nAuth: a tenant's API key.",
        params: CampaignParams,
        response: {
          200: Type.Object(
            {
              campaign: Type.String({ description: 'The campaign name' }),
              significanceLevel: Type.Number({ description: 'AB_SIGNIFICANCE' }),
              best: Type.Union([Type.String(), Type.Null()], { description: 'The variant with the highest CTR' }),
              winner: Type.Union([Type.String(), Type.Null()], {
                description: 'The best variant, when significantly better',
              }),
              variants: Type.Array(
                Type.Object({
                  variant: Type.String({ description: 'The variant label' }),
                  messages: Count('Messages with this label'),
                  recipients: Count('Recipients of those messages'),
                  delivered: Delivered,
                  uniqueClickers: Count('Recipients with a human click'),
                  ctr: Rate('Unique clickers ÷ reach, 4 places'),
                  pValue: Rate('Two-sided p-value against the best variant; null for the best itself'),
                }),
                { description: 'One per variant label' },
              ),
            },
            {
              description: "The campaign's variants",
              examples: [
                {
                  campaign: 'spring-sale',
                  significanceLevel: 0.05,
                  best: 'B',
                  winner: 'B',
                  variants: [
                    {
                      variant: 'A',
                      messages: 1,
                      recipients: 5000,
                      delivered: 4910,
                      uniqueClickers: 442,
                      ctr: 0.09,
                      pValue: 0.000012,
                    },
                    {
                      variant: 'B',
                      messages: 1,
                      recipients: 5000,
                      delivered: 4902,
                      uniqueClickers: 588,
                      ctr: 0.12,
                      pValue: null,
                    },
                  ],
                },
              ],
            },
          ),
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('campaign', 'The tenant has no message with this campaign'),
          ),
        },
      },
    },
    async (request) => campaignVariants(services.store, services.config, request.tenantId, request.params.campaign),
  )
}
