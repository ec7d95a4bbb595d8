import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { attributeConversion } from '../conversions/attribute.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Config } from '../config.js'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { apiKeyErrors, bodyErrors, errorResponses, Id, Label, notFoundError } from './schemas.js'

const ConversionBody = Type.Object(
  {
    id: Type.String({ description: "The sender's id for the conversion" }),
    messageId: Type.String({ description: 'The message it is attributed to' }),
    recipient: Type.Union([Type.String(), Type.Null()], { description: 'null for an anonymous click' }),
    clickId: Type.Union([Type.String(), Type.Null()], { description: 'The click id, when it was given' }),
    clickAt: Type.String({ format: 'date-time', description: 'The human click it is attributed to' }),
    value: Type.Number({ description: 'Value of the conversion' }),
    currency: Type.String({ description: 'ISO 4217 code' }),
    at: Type.String({ format: 'date-time', description: 'When it was recorded' }),
  },
  {
    description: 'The conversion as attributed',
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
        operationId: 'reportConversion',
        summary: 'Report a conversion',
        description:
          'Attributes a conversion to a message: give the clickId the landing page received, or the message and ' +
          "the recipient (then the recipient's last human click counts). The click must be a person's and at most " +
          'ATTRIBUTION_WINDOW_DAYS old when the conversion is posted, else 422 with the reason. The id is yours and ' +
          'de-duplicates per tenant: posting it again returns the first result with 200 and changes nothing, even ' +
          "if the click has left the window since.\n\nAuth: a tenant's API key.",
        body: Type.Object(
          {
            id: Label('Your id for the conversion, e.g. the order number'),
            clickId: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'The click id the landing page received' }),
            ),
            message: Type.Optional(Id('Message id; give it with recipient instead of clickId')),
            recipient: Type.Optional(Label("The sender's recipient id; with message, its last human click counts")),
            value: Type.Number({ minimum: 0, maximum: 1e12, description: 'Value of the order' }),
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
          200: { ...ConversionBody, description: 'A repeat of this id: the first result' },
          201: { ...ConversionBody, description: 'Attributed' },
          ...errorResponses(
            [
              'invalid_request',
              400,
              'Neither or both ways of attributing, or the body does not match the schema',
              'give either clickId, or message and recipient',
            ],
            'invalid_json',
            ...apiKeyErrors,
            notFoundError('message', 'No such message for this tenant'),
            [
              'outside_attribution_window',
              422,
              'The click is older than ATTRIBUTION_WINDOW_DAYS',
              'the last human click was more than 5 days ago (ATTRIBUTION_WINDOW_DAYS)',
            ],
            [
              'unknown_click',
              422,
              'No click of this tenant has the clickId (or it is not written yet)',
              'no click has this clickId',
            ],
            [
              'click_not_human',
              422,
              'The clickId belongs to a bot or a link preview',
              'the click was a bot, not a person',
            ],
            [
              'unknown_recipient',
              422,
              'The message has no recipient with this id',
              'the message has no such recipient',
            ],
            [
              'no_human_click',
              422,
              'The recipient never clicked the message as a person',
              'the recipient never clicked this message as a person',
            ],
            ...bodyErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const { conversion, created } = await attributeConversion(services, request.tenantId, request.body)
      return reply.code(created ? 201 : 200).send(conversion)
    },
  )
}
