import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import type { ReceiverPolicy } from '../webhooks/receiver-address.js'
import { createWebhook, deleteWebhook, listWebhooks, webhookDeliveries } from '../webhooks/webhooks.js'
import { apiKeyErrors, bodyErrors, errorResponses, Id, notFoundError } from './schemas.js'

const EventType = Type.Union([Type.Literal('click'), Type.Literal('unsubscribe')], {
  description:
    'click: every click, bots and previews included; unsubscribe: every change of the opt-out list (an opt-out by ' +
    'any channel, and a re-subscribe as an event of type resubscribe)',
})

const WebhookBody = Type.Object({
  id: Type.String({ description: 'Webhook id, whk_…' }),
  url: Type.String({ description: 'Where events are posted' }),
  events: Type.Array(EventType),
  createdAt: Type.String({ format: 'date-time', description: 'When it was registered' }),
})

const WebhookParams = Type.Object({ id: Id('Webhook id, whk_…') })

/** What the endpoint receives, and how deliveries are retried. */
const DELIVERY = [
  '**Where events may go.** `https://` only (plain `http://` only when the service runs with ' +
    'WEBHOOK_ALLOW_HTTP=true), to a host that is, or resolves to, public addresses only: loopback, private, ' +
    'link-local, carrier-grade NAT, multicast, unspecified, reserved and documentation addresses, IPv4 inside ' +
    'IPv6, 6to4 and Teredo, and cloud metadata addresses are refused with a 422. A name that does not resolve ' +
    'yet is accepted. Every delivery resolves the host again, checks every address, and connects to the one ' +
    "it checked (Host and TLS server name stay the URL's host); one that now resolves to a refused address " +
    'is a failed attempt (`refused: …`). WEBHOOK_ALLOW_PRIVATE_NETWORKS=true lets private networks in, never ' +
    'metadata addresses.',
  '**What the endpoint receives.** One POST per event, JSON: `{ "id": "evt_…", "type": "click" | "unsubscribe" | ' +
    '"resubscribe", "time", "messageId", "recipientId", "link": { "id", "url" } | null, "click": { "class", ' +
    '"reason" } | null }`, and for unsubscribe and resubscribe events `"source"`: link, reply, import or support ' +
    '(null for a re-subscribe). `recipientId` is null for an anonymous click; an unsubscribe comes once per ' +
    'recipient and message, and once more when a recipient opts out again after a re-subscribe; `messageId` is ' +
    'null for an opt-out that answers no message and for a re-subscribe. Webhooks subscribed to unsubscribe get ' +
    'resubscribe events too.' +
    ' A click made within SWEEP_WINDOW_MS of sending, which the sweep rule judges, is sent once its verdict is ' +
    'final, about SWEEP_SPAN_MS after the tap: an event never says human about a click the stats count as a bot.',
  '**Signatures.** Each delivery is signed twice with the secret. The [Standard Webhooks](https://www.standardwebhooks.com) ' +
    'headers `webhook-id` (the event id), `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64>` ' +
    'verify with an off-the-shelf library in any language, which also refuses timestamps older than 5 minutes:\n\n' +
    '```js\n' +
    "import { Webhook } from 'standardwebhooks'\n" +
    'const event = new Webhook(secret).verify(rawBody, req.headers) // throws when not valid\n' +
    '```\n\n' +
    'And `smslinks-event-id` with `smslinks-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, ' +
    'kept for receivers written against it: verify it over the raw body, and refuse old t values if you fear replays:\n\n' +
    '```js\n' +
    "const [, t, v1] = /^t=(\\d+),v1=([0-9a-f]{64})$/.exec(req.headers['smslinks-signature'])\n" +
    "const expected = crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex')\n" +
    'const valid = crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(v1))\n' +
    '```',
  '**Retries.** Answer any 2xx within WEBHOOK_TIMEOUT_MS (10 s; connecting within WEBHOOK_CONNECT_TIMEOUT_MS, 5 s); ' +
    'only the status is read, and at most WEBHOOK_RESPONSE_MAX_BYTES (64 KiB) of the body. Anything else (another ' +
    'status, a redirect, which is not followed, a timeout, a refused connection or address) is retried with ' +
    'exponential backoff and jitter (WEBHOOK_RETRY_BASE_MS 30 s, doubling, at most WEBHOOK_RETRY_MAX_MS 1 h apart) ' +
    'until the event is WEBHOOK_GIVE_UP_AFTER_MS (24 h) old; then it is marked failed. At most ' +
    'WEBHOOK_CONCURRENCY_PER_TENANT (4) deliveries of a tenant are in flight at once. Delivery is at least once, ' +
    'always with the same id: de-duplicate on it. Order is not guaranteed. Events are written in the same ' +
    'transaction as the click or opt-out, so a restart loses none.',
].join('\n\n')

const docs = { tags: ['webhooks'], security: [{ apiKey: [] }] }

const webhookExample = {
  id: 'whk_3PqLmX8tVb2nZc9R',
  url: 'https://crm.brand.dk/smslinks-events',
  events: ['click', 'unsubscribe'],
  createdAt: '2026-11-23T13:40:00.000Z',
}

/** Event webhooks: registration, removal and a view of delivery attempts. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ store: Store; receiverPolicy: ReceiverPolicy }> = async (
  app,
  services,
) => {
  app.addHook('onRequest', requireApiKey(services.store))

  app.post(
    '/v1/webhooks',
    {
      schema: {
        ...docs,
        operationId: 'createWebhook',
        summary: 'Register a webhook',
        description:
          'Registers an endpoint for click and/or unsubscribe events; at most 10 webhooks per tenant. The signing ' +
          `secret is in this response only.\n\n${DELIVERY}\n\nAuth: a tenant's API key.`,
        body: Type.Object(
          {
            url: Type.String({
              minLength: 1,
              maxLength: 2048,
              description: 'https URL on a public host that receives a POST per event',
            }),
            events: Type.Array(EventType, { minItems: 1, maxItems: 2, description: 'The event types to receive' }),
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
              Type.Object({
                secret: Type.String({
                  description:
                    'Signing secret, whsec_ and base64: the key of webhook-signature (Standard Webhooks) and of ' +
                    'smslinks-signature; shown only here',
                }),
              }),
            ],
            {
              description: 'Registered',
              examples: [{ ...webhookExample, secret: 'whsec_5eVq2m9QkT1xZr8LbN3cW7yA0dFhJ4pU' }],
            },
          ),
          ...errorResponses(
            'invalid_request',
            'invalid_json',
            'invalid_url',
            ...apiKeyErrors,
            [
              'webhook_url_not_https',
              422,
              'The URL is plain http:// and the service runs without WEBHOOK_ALLOW_HTTP',
              'url must start with https:// (plain http:// only with WEBHOOK_ALLOW_HTTP=true)',
            ],
            [
              'webhook_url_not_public',
              422,
              'The host is, or resolves to, an address webhooks may not go to: loopback, private, link-local, ' +
                'carrier-grade NAT, multicast, unspecified, reserved or documentation, IPv4 inside IPv6, 6to4, ' +
                'Teredo, or cloud metadata (private networks are allowed with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)',
              'hooks.brand.dk resolves to 10.0.0.7, a private address: webhooks are sent to public addresses only ' +
                '(WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows private networks)',
            ],
            [
              'webhook_limit',
              409,
              'The tenant already has 10 webhooks',
              'a tenant has at most 10 webhooks: delete one first',
            ],
            ...bodyErrors,
          ),
        },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createWebhook(services.store, services.receiverPolicy, request.tenantId, request.body)),
  )

  app.get(
    '/v1/webhooks',
    {
      schema: {
        ...docs,
        operationId: 'listWebhooks',
        summary: 'List webhooks',
        description: "The tenant's webhooks, without secrets.\n\nAuth: a tenant's API key.",
        response: {
          200: Type.Object(
            { webhooks: Type.Array(WebhookBody, { description: 'Without secrets' }) },
            { description: "The tenant's webhooks", examples: [{ webhooks: [webhookExample] }] },
          ),
          ...errorResponses(...apiKeyErrors),
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
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook',
        description: "Deletes a webhook; its events not delivered yet are cancelled.\n\nAuth: a tenant's API key.",
        params: WebhookParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('webhook', 'No such webhook for this tenant'),
          ),
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
        operationId: 'listWebhookDeliveries',
        summary: 'Recent webhook deliveries',
        description:
          "A webhook's latest delivery attempts, newest first: status code, error, outcome.\n\nAuth: a tenant's API key.",
        params: WebhookParams,
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Attempts to return' }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              deliveries: Type.Array(
                Type.Object({
                  eventId: Type.String({ description: "The event's id, evt_…, as in its body" }),
                  type: EventType,
                  attempt: Type.Integer({ description: '1 for the first try' }),
                  at: Type.String({ format: 'date-time', description: 'When the attempt was made' }),
                  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'null when no answer came' }),
                  error: Type.Union([Type.String(), Type.Null()], {
                    description:
                      'null on success, else e.g. answered HTTP 500, ECONNREFUSED, no answer within 10000 ms, ' +
                      'refused: hooks.brand.dk resolves to 10.0.0.7, a private address: …',
                  }),
                  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retrying'), Type.Literal('failed')], {
                    description:
                      'retrying: another attempt is scheduled; failed: retried for WEBHOOK_GIVE_UP_AFTER_MS, then given up',
                  }),
                }),
                { description: 'Newest first' },
              ),
            },
            {
              description: 'The latest attempts',
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
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('webhook', 'No such webhook for this tenant'),
          ),
        },
      },
    },
    async (request) => webhookDeliveries(services.store, request.tenantId, request.params.id, request.query.limit),
  )
}
