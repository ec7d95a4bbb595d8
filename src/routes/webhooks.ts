import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/store.js'
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

const docs = { tags: ['webhooks'], security: [{ apiKey: [] }] }

const webhookExample = {
  id: 'whk_3PqLmX8tVb2nZc9R',
  url: 'https://crm.brand.dk/smslinks-events',
  events: ['click', 'unsubscribe'],
  createdAt: '2026-11-23T13:40:00.000Z',
}

/** Event webhooks: registration, removal and a view of delivery attempts. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, services) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.post(
    '/v1/webhooks',
    {
      schema: {
        ...docs,
        summary: 'Register a webhook',
        description:
          'Register an endpoint for click and/or unsubscribe events. The signing secret is in this response only.',
        body: Type.Object(
          {
            url: Type.String({
              minLength: 1,
              maxLength: 2048,
              description: 'http(s) URL that receives a POST per event',
            }),
            events: Type.Array(EventType, { minItems: 1, maxItems: 2 }),
          },
          {
            additionalProperties: false,
            examples: [{ url: 'https://crm.brand.dk/smslinks-events', events: ['click', 'unsubscribe'] }],
          },
        ),
        response: {
          201: Type.Intersect(
            [
              WebhookBody,
              Type.Object({ secret: Type.String({ description: 'HMAC key of smslinks-signature; shown only here' }) }),
            ],
            { examples: [{ ...webhookExample, secret: 'whsec_5eVq2m9QkT1xZr8LbN3cW7yA0dFhJ4pU' }] },
          ),
          409: ErrorBody,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await createWebhook(services.store, request.tenantId, request.body)),
  )

  app.get(
    '/v1/webhooks',
    {
      schema: {
        ...docs,
        summary: 'List webhooks',
        description: "The tenant's webhooks (without secrets).",
        response: {
          200: Type.Object({ webhooks: Type.Array(WebhookBody) }, { examples: [{ webhooks: [webhookExample] }] }),
          ...errorResponses,
        },
      },
    },
    async (request) => listWebhooks(services.store, request.tenantId),
  )

  app.delete(
    '/v1/webhooks/:id',
    {
      schema: {
        ...docs,
        summary: 'Delete a webhook',
        description: 'Delete a webhook. Its events not yet delivered are cancelled.',
        params: WebhookParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          ...errorResponses,
          404: Type.Object(ErrorBody.properties, { examples: [{ error: 'not_found', message: 'webhook not found' }] }),
        },
      },
    },
    async (request, reply) => {
      await deleteWebhook(services.store, request.tenantId, request.params.id)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      schema: {
        ...docs,
        summary: 'Recent webhook deliveries',
        description: "A webhook's latest delivery attempts, newest first: status code, error, outcome.",
        params: WebhookParams,
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
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
            },
            {
              examples: [
                {
                  deliveries: [
                    {
                      eventId: 'evt_Q2xh8sVd0LmP3rTz',
                      type: 'click',
                      attempt: 2,
                      at: '2026-11-23T14:02:11.410Z',
                      statusCode: 200,
                      error: null,
                      outcome: 'delivered',
                    },
                    {
                      eventId: 'evt_Q2xh8sVd0LmP3rTz',
                      type: 'click',
                      attempt: 1,
                      at: '2026-11-23T14:01:40.022Z',
                      statusCode: 503,
                      error: 'HTTP 503',
                      outcome: 'retrying',
                    },
                  ],
                },
              ],
            },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => webhookDeliveries(services.store, request.tenantId, request.params.id, request.query.limit),
  )
}
