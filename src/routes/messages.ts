import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { messageStats } from '../clicks/stats.js'
import { ApiError, notFound } from '../errors.js'
import { addRecipients, createMessage, domainOf } from '../messages/create-message.js'
import { presentMessage, presentMessageWithRecipients } from '../messages/present.js'
import type { Services } from '../services.js'
import { requireApiKey } from '../tenants/auth.js'
import {
  ClickCountersBody,
  errorResponses,
  ErrorBody,
  Id,
  Label,
  MessageBody,
  MessageKindSchema,
  MessageWithRecipientsBody,
  messageExample,
} from './schemas.js'

export const MAX_RECIPIENTS_PER_CALL = 100_000
const MAX_LINKS = 10
/** 100,000 recipient ids of up to 128 characters, with room for JSON punctuation. */
const BODY_LIMIT = 16 * 1024 * 1024

const Recipients = Type.Array(Label("The sender's own id for a recipient (e.g. a customer id)"), {
  maxItems: MAX_RECIPIENTS_PER_CALL,
  description: `Up to ${MAX_RECIPIENTS_PER_CALL} per call; add more with POST /v1/messages/:id/recipients`,
})

const CreateMessage = Type.Object(
  {
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 260, description: 'Host of the short links; optional when the tenant has one domain' })),
    externalId: Type.Optional(Label('Your id for this send; re-posting it returns the existing message')),
    kind: Type.Optional(MessageKindSchema),
    campaign: Type.Optional(Label('Campaign name, for roll-ups and A/B tests')),
    variant: Type.Optional(Label('A/B variant label', 64)),
    links: Type.Array(
      Type.Object({ url: Type.String({ minLength: 1, maxLength: 4096, description: 'Destination, http(s)' }) }, { additionalProperties: false }),
      { minItems: 1, maxItems: MAX_LINKS },
    ),
    recipients: Recipients,
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
      { domain: 's.brand.dk', kind: 'transactional', links: [{ url: 'https://shop.example.dk/order/1234' }], recipients: ['cust-1001'] },
    ],
  },
)

const MessageParams = Type.Object({ id: Id('Message id') })

const Cursor = {
  encode: (before: number): string => Buffer.from(`m${before}`).toString('base64url'),
  decode: (cursor: string): number => {
    const text = Buffer.from(cursor, 'base64url').toString()
    const before = /^m\d{1,15}$/.test(text) ? Number(text.slice(1)) : NaN
    if (!Number.isSafeInteger(before)) {
      throw new ApiError(400, 'invalid_cursor', 'cursor must be a nextCursor value from an earlier page')
    }
    return before
  },
}

const StatsBody = Type.Object({
  id: Type.String(),
  recipients: Type.Integer(),
  delivered: Type.Union([Type.Integer(), Type.Null()]),
  clicks: ClickCountersBody,
  ctr: Type.Union([Type.Number(), Type.Null()], {
    description: 'Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), rounded to 4 places',
  }),
  links: Type.Array(Type.Object({ id: Type.String(), url: Type.String(), clicks: ClickCountersBody })),
}, {
  examples: [
    {
      id: 'msg_p7Z666gD109LzY4S',
      recipients: 3,
      delivered: null,
      clicks: { total: 2, unique: 1, bots: 2 },
      ctr: 0.3333,
      links: [
        { id: 'lnk_uSVi6oc0ahwxMLT2', url: 'https://shop.example.dk/sale', clicks: { total: 2, unique: 1, bots: 2 } },
        { id: 'lnk_T1TTJhVSXpy5hFXe', url: 'https://shop.example.dk/stores', clicks: { total: 0, unique: 0, bots: 0 } },
      ],
    },
  ],
})

/** The tenant API: messages, their short links and stats. */
export const messageRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { store, tokens } = services
  app.addHook('onRequest', requireApiKey(store))
  /** What the OpenAPI document says about every route here. */
  const docs = { tags: ['messages'], security: [{ apiKey: [] }] }

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
          'Create a message: its links and recipients. Returns one short link per recipient and link. ' +
          'Re-posting an externalId returns the existing message (200) with these recipients.',
        body: CreateMessage,
        response: { 200: MessageWithRecipientsBody, 201: MessageWithRecipientsBody, 409: ErrorBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await createMessage(services, request.tenantId, request.body)
      return reply.code(result.created ? 201 : 200).send(presentMessageWithRecipients(result, tokens))
    },
  )

  app.post(
    '/v1/messages/:id/recipients',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        ...docs,
        summary: 'Add recipients',
        description: 'Add recipients to a message. Ids already in the message keep their links.',
        params: MessageParams,
        body: Type.Object(
          { recipients: Recipients },
          { additionalProperties: false, examples: [{ recipients: ['cust-1003', 'cust-1004'] }] },
        ),
        response: { 200: MessageWithRecipientsBody, ...errorResponses },
      },
    },
    async (request) => {
      const result = await addRecipients(services, request.tenantId, request.params.id, request.body.recipients)
      return presentMessageWithRecipients(result, tokens)
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
        messages: page.messages.map((message) => presentMessage(message, domainOf(services, message))),
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
      return presentMessage(message, domainOf(services, message))
    },
  )

  app.get(
    '/v1/messages/:id/stats',
    {
      schema: {
        ...docs,
        summary: "A message's stats",
        description: "A message's clicks, unique clicking recipients and CTR, in total and per link. Read from counters.",
        params: MessageParams,
        response: { 200: StatsBody, ...errorResponses },
      },
    },
    async (request) => messageStats(store, await findMessage(request.tenantId, request.params.id)),
  )
}
