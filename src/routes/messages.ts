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
    unsubscribe: Type.Optional(
      Type.Boolean({ description: 'Give each recipient an unsubscribe link (unsubscribeUrl); default false' }),
    ),
  },
  { additionalProperties: false },
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

const Rate = (description: string) => Type.Union([Type.Number(), Type.Null()], { description })

const StatsBody = Type.Object({
  id: Type.String(),
  recipients: Type.Integer(),
  delivered: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Recipients whose latest delivery report is delivered; null until a report comes',
  }),
  failed: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Recipients whose latest delivery report is failed; null until a report comes',
  }),
  deliveryRate: Rate('delivered ÷ recipients, 4 places; null until a report comes'),
  clicks: ClickCountersBody,
  ctr: Rate('Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), rounded to 4 places'),
  unsubscribes: Type.Object({
    linkVisits: Type.Integer({ description: 'Human visits of the unsubscribe page (not opt-outs)' }),
    confirmed: Type.Integer({ description: 'Recipients who confirmed the opt-out on this message' }),
  }),
  unsubscribeRate: Rate('confirmed ÷ delivered (÷ recipients while delivered is null), 4 places'),
  links: Type.Array(Type.Object({ id: Type.String(), url: Type.String(), clicks: ClickCountersBody })),
})

/** The tenant API: messages, their short links and stats. */
export const messageRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { store, tokens, unsubscribeTokens } = services
  app.addHook('onRequest', requireApiKey(store))

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
        description:
          'Create a message: its links and recipients. Returns one short link per recipient and link. ' +
          'Re-posting an externalId returns the existing message (200) with these recipients.',
        body: CreateMessage,
        response: { 200: MessageWithRecipientsBody, 201: MessageWithRecipientsBody, 409: ErrorBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await createMessage(services, request.tenantId, request.body)
      return reply.code(result.created ? 201 : 200).send(presentMessageWithRecipients(result, tokens, unsubscribeTokens))
    },
  )

  app.post(
    '/v1/messages/:id/recipients',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        description: 'Add recipients to a message. Ids already in the message keep their links.',
        params: MessageParams,
        body: Type.Object({ recipients: Recipients }, { additionalProperties: false }),
        response: { 200: MessageWithRecipientsBody, ...errorResponses },
      },
    },
    async (request) => {
      const result = await addRecipients(services, request.tenantId, request.params.id, request.body.recipients)
      return presentMessageWithRecipients(result, tokens, unsubscribeTokens)
    },
  )

  app.get(
    '/v1/messages',
    {
      schema: {
        description: "The tenant's messages, newest first. Pass nextCursor as cursor for the next page.",
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ messages: Type.Array(MessageBody), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
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
        description: "A message's clicks, unique clicking recipients and CTR, in total and per link. Read from counters.",
        params: MessageParams,
        response: { 200: StatsBody, ...errorResponses },
      },
    },
    async (request) => messageStats(store, await findMessage(request.tenantId, request.params.id)),
  )
}
