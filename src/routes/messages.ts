import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { messageStats } from '../clicks/stats.js'
import { idCursor } from '../cursor.js'
import { notFound } from '../errors.js'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  addRecipients,
  createMessage,
  domainOf,
  MAX_LINKS,
  type MessageServices,
  type MessageWithRecipients,
} from '../messages/create-message.js'
import { messageWithRecipientsJson, messageWithRecipientsNdjson, presentMessage } from '../messages/present.js'
import type { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
import { requireApiKey } from '../tenants/auth.js'
import {
  BreakdownsBody,
  ClickCountersBody,
  errorResponses,
  MessageClicksBody,
  ErrorBody,
  Id,
  Label,
  MessageBody,
  MessageKindSchema,
  MessageWithRecipientsBody,
  UtmSchema,
  messageExample,
} from './schemas.js'

export const MAX_RECIPIENTS_PER_CALL = 100_000
/** Twilio's limit for one message body; ten parts of UCS-2 are 670. */
const MAX_TEXT_LENGTH = 1_600
/** 100,000 recipient ids of up to 128 characters, with room for JSON punctuation. */
const BODY_LIMIT = 16 * 1024 * 1024

const Recipients = Type.Array(Label("The sender's own id for a recipient (e.g. a customer id)"), {
  maxItems: MAX_RECIPIENTS_PER_CALL,
  description: `Up to ${MAX_RECIPIENTS_PER_CALL} per call; add more with POST /v1/messages/:id/recipients`,
})

const CreateMessage = Type.Object(
  {
    domain: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 260,
        description: 'Host of the short links; optional when the tenant has one domain',
      }),
    ),
    externalId: Type.Optional(Label('Your id for this send; re-posting it returns the existing message')),
    kind: Type.Optional(MessageKindSchema),
    campaign: Type.Optional(Label('Campaign name, for roll-ups and A/B tests')),
    variant: Type.Optional(Label('A/B variant label', 64)),
    links: Type.Optional(
      Type.Array(
        Type.Object(
          { url: Type.String({ minLength: 1, maxLength: 4096, description: 'Destination, http(s)' }) },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: MAX_LINKS, description: 'The destinations; or give "text" instead' },
      ),
    ),
    text: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_TEXT_LENGTH,
        description:
          'An SMS text instead of "links": its URLs become the links, and each recipient gets the text rewritten',
      }),
    ),
    stripScheme: Type.Optional(
      Type.Boolean({ description: 'Leave https:// out of short links inside rewritten texts' }),
    ),
    utm: Type.Optional(UtmSchema),
    clickIdParam: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,31}$',
        description: "Query parameter that carries each click's id to the landing page, e.g. sl_cid",
      }),
    ),
    recipients: Recipients,
    unsubscribe: Type.Optional(
      Type.Boolean({ description: 'Give each recipient an unsubscribe link (unsubscribeUrl); default false' }),
    ),
    expiresAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          "When the links stop going to their destinations (ISO 8601, in the future): afterwards they redirect to the domain's fallbackUrl, or answer 410",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        externalId: 'spring-sale-2025-03-14',
        campaign: 'spring-sale',
        variant: 'A',
        links: [{ url: 'https://shop.example.dk/sale' }, { url: 'https://shop.example.dk/stores' }],
        recipients: ['cust-1001', 'cust-1002'],
      },
      {
        domain: 's.brand.dk',
        kind: 'transactional',
        links: [{ url: 'https://shop.example.dk/order/1234' }],
        recipients: ['cust-1001'],
      },
    ],
  },
)

const MessageParams = Type.Object({ id: Id('Message id') })

/** Opaque cursor over the tenant's messages: the internal id the page ended at. */
const Cursor = idCursor('m', 'cursor')

const Rate = (description: string) => Type.Union([Type.Number(), Type.Null()], { description })

const StatsBody = Type.Object(
  {
    id: Type.String(),
    recipients: Type.Integer(),
    delivered: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Recipients whose latest delivery report is delivered; null until a report comes',
    }),
    failed: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Recipients whose latest delivery report is failed; null until a report comes',
    }),
    deliveryRate: Rate('delivered ÷ recipients, 4 places; null until a report comes'),
    clicks: MessageClicksBody,
    ctr: Rate('Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), rounded to 4 places'),
    unsubscribes: Type.Object({
      linkVisits: Type.Integer({ description: 'Human visits of the unsubscribe page (not opt-outs)' }),
      confirmed: Type.Integer({ description: 'Recipients who confirmed the opt-out on this message' }),
    }),
    unsubscribeRate: Rate('confirmed ÷ delivered (÷ recipients while delivered is null), 4 places'),
    links: Type.Array(Type.Object({ id: Type.String(), url: Type.String(), clicks: ClickCountersBody })),
    breakdowns: BreakdownsBody,
    conversions: Type.Integer({ description: 'Conversions attributed to the message (POST /v1/conversions)' }),
    conversionRate: Rate('conversions ÷ unique clickers, 4 places; null without clickers'),
    revenue: Type.Record(Type.String(), Type.Number(), { description: 'Attributed conversion value per currency' }),
  },
  {
    examples: [
      {
        id: 'msg_p7Z666gD109LzY4S',
        recipients: 3,
        delivered: null,
        clicks: {
          total: 2,
          unique: 1,
          bots: 1,
          previews: 1,
          byReason: {
            head_request: 0,
            no_user_agent: 0,
            bot_user_agent: 0,
            preview_user_agent: 1,
            too_fast: 1,
            burst: 0,
          },
        },
        ctr: 0.3333,
        links: [
          {
            id: 'lnk_uSVi6oc0ahwxMLT2',
            url: 'https://shop.example.dk/sale',
            clicks: { total: 2, unique: 1, bots: 1, previews: 1 },
          },
          {
            id: 'lnk_T1TTJhVSXpy5hFXe',
            url: 'https://shop.example.dk/stores',
            clicks: { total: 0, unique: 0, bots: 0, previews: 0 },
          },
        ],
        breakdowns: {
          device: { mobile: 2 },
          os: { iOS: 2 },
          browser: { 'Mobile Safari': 2 },
          hourOfDay: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
          daySinceSending: [{ day: 0, clicks: 2 }],
          timeToFirstClick: { recipients: 1, medianSeconds: 95.1, p90Seconds: 95.1 },
        },
        conversions: 1,
        conversionRate: 1,
        revenue: { DKK: 129.5 },
      },
    ],
  },
)

/** Whether the caller asked for newline-delimited JSON (one recipient per line). */
function wantsNdjson(request: FastifyRequest): boolean {
  return /\bapplication\/x-ndjson\b/i.test(request.headers.accept ?? '')
}

/** The tenant API: messages, their short links and stats. */
export const messageRoutes: FastifyPluginAsyncTypebox<
  MessageServices & { tokens: RecipientTokens; unsubscribeTokens: UnsubscribeTokens }
> = async (app, services) => {
  const { store, tokens, unsubscribeTokens } = services
  app.addHook('onRequest', requireApiKey(store))
  /** What the OpenAPI document says about every route here. */
  const docs = { tags: ['messages'], security: [{ apiKey: [] }] }

  const sendWithRecipients = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    result: MessageWithRecipients,
  ) => {
    reply.code(status)
    // Already JSON text of the response schema, streamed: Fastify sends it as it is.
    if (!wantsNdjson(request)) {
      return reply
        .type('application/json; charset=utf-8')
        .send(Readable.from(messageWithRecipientsJson(result, tokens, unsubscribeTokens)))
    }
    return reply
      .type('application/x-ndjson')
      .send(Readable.from(messageWithRecipientsNdjson(result, tokens, unsubscribeTokens)))
  }

  const findMessage = async (tenantId: number, id: string) => {
    const message = await store.getMessage(tenantId, id)
    if (!message) throw notFound('message')
    return message
  }

  app.post(
    '/v1/messages',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        ...docs,
        summary: 'Create a message',
        description:
          'Create a message: its links (or a text whose URLs become the links) and recipients. Returns one short ' +
          "link per recipient and link, and with a text, each recipient's rewritten text and its SMS segments. " +
          'Re-posting an externalId returns the existing message (200) with these recipients. ' +
          'Accept: application/x-ndjson streams the message, then one recipient per line.',
        body: CreateMessage,
        response: { 200: MessageWithRecipientsBody, 201: MessageWithRecipientsBody, 409: ErrorBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await createMessage(services, request.tenantId, request.body)
      return sendWithRecipients(request, reply, result.created ? 201 : 200, result)
    },
  )

  app.post(
    '/v1/messages/:id/recipients',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        ...docs,
        summary: 'Add recipients',
        description:
          'Add recipients to a message. Ids already in the message keep their links. ' +
          'Accept: application/x-ndjson streams the message, then one recipient per line.',
        params: MessageParams,
        body: Type.Object(
          { recipients: Recipients },
          { additionalProperties: false, examples: [{ recipients: ['cust-1003', 'cust-1004'] }] },
        ),
        response: { 200: MessageWithRecipientsBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await addRecipients(services, request.tenantId, request.params.id, request.body.recipients)
      return sendWithRecipients(request, reply, 200, result)
    },
  )

  app.get(
    '/v1/messages',
    {
      schema: {
        ...docs,
        summary: 'List messages',
        description: "The tenant's messages, newest first. Pass nextCursor as cursor for the next page.",
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            { messages: Type.Array(MessageBody), nextCursor: Type.Union([Type.String(), Type.Null()]) },
            { examples: [{ messages: [messageExample], nextCursor: 'bTQy' }] },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query
      const page = await store.listMessages(request.tenantId, cursor ? Cursor.decode(cursor) : null, limit)
      return {
        messages: page.messages.map((message) => presentMessage(message, domainOf(services.domains, message))),
        nextCursor: page.nextBefore === null ? null : Cursor.encode(page.nextBefore),
      }
    },
  )

  app.get(
    '/v1/messages/:id',
    {
      schema: {
        ...docs,
        summary: 'Get a message',
        description: 'One message with its links.',
        params: MessageParams,
        response: { 200: MessageBody, ...errorResponses },
      },
    },
    async (request) => {
      const message = await findMessage(request.tenantId, request.params.id)
      return presentMessage(message, domainOf(services.domains, message))
    },
  )

  app.get(
    '/v1/messages/:id/stats',
    {
      schema: {
        ...docs,
        summary: "A message's stats",
        description:
          "A message's clicks, unique clicking recipients and CTR, in total and per link. Read from counters.",
        params: MessageParams,
        response: { 200: StatsBody, ...errorResponses },
      },
    },
    async (request) => messageStats(store, await findMessage(request.tenantId, request.params.id)),
  )
}
