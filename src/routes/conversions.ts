import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { attributeConversion } from '../conversions/attribute.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Config } from '../config.js'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { errorResponses, ErrorExample, Id, Label } from './schemas.js'

const ConversionBody = Type.Object(
  {
    id: Type.String({ description: "The sender's id for the conversion" }),
    messageId: Type.String(),
    recipient: Type.Union([Type.String(), Type.Null()], { description: 'null for an anonymous click' }),
    clickId: Type.Union([Type.String(), Type.Null()]),
    clickAt: Type.String({ format: 'date-time', description: 'The human click it is attributed to' }),
    value: Type.Number(),
    currency: Type.String(),
    at: Type.String({ format: 'date-time', description: 'When it was recorded' }),
  },
  {
    examples: [
      {
        id: 'order-77',
        messageId: 'msg_p7Z666gD109LzY4S',
        recipient: 'cust-1001',
        clickId: null,
        clickAt: '2026-11-23T14:02:11.482Z',
        value: 129.5,
        currency: 'DKK',
        at: '2026-11-23T14:09:40.003Z',
      },
    ],
  },
)

/** Conversions (orders) reported by the sender, attributed to the message that brought them. */
export const conversionRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  recorder: ClickRecorder
  config: Pick<Config, 'attributionWindowDays'>
}> = async (app, services) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.post(
    '/v1/conversions',
    {
      schema: {
        tags: ['analytics'],
        security: [{ apiKey: [] }],
        summary: 'Report a conversion',
        description:
          'Attributes a conversion to a message: give the clickId the landing page received, or the message and ' +
          "the recipient (then the recipient's last human click counts). The click must be a person's and at most " +
          'ATTRIBUTION_WINDOW_DAYS old, else 422 with the reason. The id de-duplicates: repeating it returns the ' +
          'first result with 200.',
        body: Type.Object(
          {
            id: Label('Your id for the conversion, e.g. the order number'),
            clickId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            message: Type.Optional(Id('Message id')),
            recipient: Type.Optional(Label("The sender's recipient id")),
            value: Type.Number({ minimum: 0, maximum: 1e12 }),
            currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. DKK' }),
          },
          {
            additionalProperties: false,
            examples: [
              {
                message: 'msg_p7Z666gD109LzY4S',
                recipient: 'cust-1001',
                value: 129.5,
                currency: 'DKK',
                id: 'order-77',
              },
              { clickId: 'gvUF74ga0', value: 49, currency: 'EUR', id: 'order-78' },
            ],
          },
        ),
        response: {
          200: ConversionBody,
          201: ConversionBody,
          422: ErrorExample(
            'outside_attribution_window',
            'the last human click was more than 5 days ago (ATTRIBUTION_WINDOW_DAYS)',
          ),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { conversion, created } = await attributeConversion(services, request.tenantId, request.body)
      return reply.code(created ? 201 : 200).send(conversion)
    },
  )
}
