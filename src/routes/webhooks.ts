import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../services.js'
import { requireApiKey } from '../tenants/auth.js'
import { createWebhook, deleteWebhook, listWebhooks, webhookDeliveries } from '../webhooks/webhooks.js'
import { errorResponses, ErrorBody, Id } from './schemas.js'

const EventType = Type.Union([Type.Literal('click'), Type.Literal('unsubscribe')])

const WebhookBody = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(EventType),
  createdAt: Type.String({ format: 'date-time' }),
})

const WebhookParams = Type.Object({ id: Id('Webhook id') })

/** Event webhooks: registration, removal and a view of delivery attempts. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.post(
    '/v1/webhooks',
    {
      schema: {
        description: 'Register an endpoint for click and/or unsubscribe events. The signing secret is in this response only.',
        body: Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL that receives a POST per event' }),
            events: Type.Array(EventType, { minItems: 1, maxItems: 2 }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Intersect([
            WebhookBody,
            Type.Object({ secret: Type.String({ description: 'HMAC key of smslinks-signature; shown only here' }) }),
          ]),
          409: ErrorBody,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await createWebhook(services, request.tenantId, request.body)),
  )

  app.get(
    '/v1/webhooks',
    {
      schema: {
        description: "The tenant's webhooks (without secrets).",
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookBody) }), ...errorResponses },
      },
    },
    async (request) => listWebhooks(services, request.tenantId),
  )

  app.delete(
    '/v1/webhooks/:id',
    {
      schema: {
        description: 'Delete a webhook. Its events not yet delivered are cancelled.',
        params: WebhookParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteWebhook(services, request.tenantId, request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      schema: {
        description: "A webhook's latest delivery attempts, newest first: status code, error, outcome.",
        params: WebhookParams,
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            deliveries: Type.Array(
              Type.Object({
                eventId: Type.String(),
                type: EventType,
                attempt: Type.Integer({ description: '1 for the first try' }),
                at: Type.String({ format: 'date-time' }),
                statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'null when no answer came' }),
                error: Type.Union([Type.String(), Type.Null()]),
                outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retrying'), Type.Literal('failed')], {
                  description: 'failed: retried for WEBHOOK_GIVE_UP_AFTER_MS, then given up',
                }),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => webhookDeliveries(services, request.tenantId, request.params.id, request.query.limit),
  )
}
