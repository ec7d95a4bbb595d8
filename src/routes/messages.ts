import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { messageStats } from '../clicks/stats.js'
import { idCursor } from '../cursor.js'
import { notFound } from '../errors.js'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import {
  addRecipients,
  createMessage,
  domainOf,
  type CreateMessageInput,
  type MessageServices,
} from '../messages/create-message.js'
import { presentMessage } from '../messages/present.js'
import { LocalRecipients, type MessageResult, type RecipientList } from '../messages/recipient-list.js'
import { ThreadBody, type RecipientsThread } from '../messages/thread-recipients.js'
import type { BodyKind } from '../messages/recipients-thread.js'
import { AddRecipients, CreateMessage } from './message-bodies.js'
import type { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
import { requireApiKey } from '../tenants/auth.js'
import { parseLongJsonBodiesInSlices, type BodyHandOff } from '../sliced-json.js'
import {
  BreakdownsBody,
  ClickCountersBody,
  apiKeyErrors,
  bodyErrors,
  errorResponses,
  MessageClicksBody,
  Id,
  MessageBody,
  MessageWithExample,
  MessageWithRecipientsBody,
  notFoundError,
  UnsubscribesBySource,
  messageExample,
} from './schemas.js'

/** 100,000 recipient ids of up to 128 characters, with room for JSON punctuation. */
const BODY_LIMIT = 16 * 1024 * 1024

const MessageParams = Type.Object({ id: Id('Message id, msg_…') })

/** Opaque cursor over the tenant's messages: the internal id the page ended at. */
const Cursor = idCursor('m', 'cursor')

const Rate = (description: string) => Type.Union([Type.Number(), Type.Null()], { description })

const StatsBody = Type.Object(
  {
    id: Type.String({ description: 'Message id' }),
    recipients: Type.Integer({ description: 'Recipients of the message' }),
    delivered: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Recipients whose latest delivery report is delivered; null until a report comes',
    }),
    failed: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Recipients whose latest delivery report is failed; null until a report comes',
    }),
    deliveryRate: Rate('delivered ÷ recipients, 4 places; null until a report comes'),
    clicks: { ...MessageClicksBody, description: 'Clicks on any of the links' },
    ctr: Rate('Unique clicking recipients ÷ delivered (÷ recipients while delivered is null), rounded to 4 places'),
    unsubscribes: Type.Object(
      {
        linkVisits: Type.Integer({ description: 'Human visits of the unsubscribe page (not opt-outs)' }),
        confirmed: Type.Integer({
          description: 'Recipients who confirmed the opt-out on this message (bySource.link)',
        }),
        total: Type.Integer({ description: 'Recipients who opted out of this message by any channel' }),
        bySource: UnsubscribesBySource,
      },
      {
        description:
          "Opt-outs of the message: its unsubscribe page's visits and confirmations, and opt-outs by reply, " +
          'import or support posted to POST /v1/optouts that answer it. A recipient counts once, under its first channel',
      },
    ),
    unsubscribeRate: Rate('total ÷ delivered (÷ recipients while delivered is null), 4 places'),
    links: Type.Array(
      Type.Object({
        id: Type.String({ description: 'Link id' }),
        url: Type.String({ description: 'Destination' }),
        clicks: { ...ClickCountersBody, description: "This link's clicks" },
      }),
      { description: "The message's links, in order, with their own counters" },
    ),
    breakdowns: BreakdownsBody,
    conversions: Type.Integer({ description: 'Conversions attributed to the message (POST /v1/conversions)' }),
    conversionRate: Rate('conversions ÷ unique clickers, 4 places; null without clickers'),
    revenue: Type.Record(Type.String(), Type.Number(), { description: 'Attributed conversion value per currency' }),
  },
  {
    description: "The message's figures",
    examples: [
      {
        id: 'msg_p7Z666gD109LzY4S',
        recipients: 3,
        delivered: 2,
        failed: 1,
        deliveryRate: 0.6667,
        clicks: {
          total: 2,
          unique: 1,
          bots: 1,
          previews: 1,
          pending: 0,
          byReason: {
            head_request: 0,
            no_user_agent: 0,
            bot_user_agent: 0,
            preview_user_agent: 1,
            too_fast: 1,
            burst: 0,
            sweep: 0,
          },
        },
        ctr: 0.5,
        unsubscribes: {
          linkVisits: 1,
          confirmed: 1,
          total: 2,
          bySource: { link: 1, reply: 1, import: 0, support: 0 },
        },
        unsubscribeRate: 1,
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
  MessageServices & {
    tokens: RecipientTokens
    unsubscribeTokens: UnsubscribeTokens
    recipientsThread: RecipientsThread | null
    config: Pick<Config, 'recipientsThreadMinBytes'>
  }
> = async (app, services) => {
  const { store, recipientsThread: thread } = services
  const minBytes = services.config.recipientsThreadMinBytes
  app.addHook('onRequest', requireApiKey(store))
  // A large body goes to the recipients thread; one it refuses (not JSON, not valid) is
  // parsed here, a slice at a time when long, and answered with its error.
  const bodyKinds: Record<string, BodyKind> = { '/v1/messages': 'create', '/v1/messages/:id/recipients': 'add' }
  const handOff: BodyHandOff = async (request, body) => {
    const kind = request.method === 'POST' ? bodyKinds[request.routeOptions.url ?? ''] : undefined
    if (thread === null || kind === undefined || body.length < minBytes) return { bytes: body }
    return thread.parse(body, kind)
  }
  parseLongJsonBodiesInSlices(app, handOff)
  // A call that fails after its body went to the thread lets go of its recipients there.
  const release = async (request: FastifyRequest) => {
    if (request.body instanceof ThreadBody) request.body.recipients.release()
  }
  app.addHook('onResponse', release)
  app.addHook('onRequestAbort', release)

  /** A call's fields, and its recipients: from the thread, or from the body parsed here. */
  const callOf = async <F>(body: F & { recipients: string[] }): Promise<{ fields: F; recipients: RecipientList }> => {
    if (body instanceof ThreadBody) return { fields: body.fields as F, recipients: body.recipients }
    const { recipients, ...fields } = body
    return { fields: fields as F, recipients: await LocalRecipients.of(recipients, services) }
  }
  /** What the OpenAPI document says about every route here. */
  const docs = { tags: ['messages'], security: [{ apiKey: [] }] }

  const sendWithRecipients = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    result: MessageResult,
    recipients: RecipientList,
  ) => {
    reply.code(status)
    const format = wantsNdjson(request) ? 'ndjson' : 'json'
    const body = await recipients.answer(result, format)
    // Already JSON text of the response schema, whole or streamed: Fastify sends it as it is.
    return reply
      .type(format === 'json' ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .send(typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Readable ? body : Readable.from(body))
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
        operationId: 'createMessage',
        summary: 'Create a message',
        description: [
          'Creates a message (one SMS send) with its links, given as `links` or found in a `text`, and its ' +
            "recipients, and returns one short link per recipient and link; with a text, each recipient's " +
            'rewritten text and its SMS segments. Exactly one of `links` and `text` must be given. Request limit 16 MiB.',
          '`optedOut: true` on a recipient means the tenant has this id on its opt-out list (it confirmed an ' +
            'unsubscribe page of an earlier message): **do not text it**. It still gets its token and links, so ' +
            'your bookkeeping (and a retried call) stays whole.',
          '**Idempotency.** Re-posting an `externalId` with the same links (same URLs, same order, after ' +
            'normalisation) and the same kind, campaign, variant, text, stripScheme, utm, clickIdParam, unsubscribe ' +
            "and expiresAt (and domain, when given) creates nothing: it answers 200, adds the call's new " +
            'recipients and returns every recipient named in the call with its token and links (ids already in ' +
            'the message keep their token). Anything different is `409 external_id_conflict`.',
          '**Large sends.** Up to 100,000 recipients per call; add more with `POST /v1/messages/{id}/recipients`. ' +
            'Answers listing more than 1,000 recipients are streamed, 1,000 recipients at a time (chunked, ' +
            'without Content-Length): read the body to its end, and if the connection breaks, repeat the call with the ' +
            'same externalId: the tokens come back unchanged. With `Accept: application/x-ndjson` the answer is ' +
            'newline-delimited JSON: the message without `recipients`, then one line per recipient (same status ' +
            'codes; errors stay plain JSON).',
          "Auth: a tenant's API key.",
        ].join('\n\n'),
        body: CreateMessage,
        response: {
          200: {
            ...MessageWithRecipientsBody,
            description: 'The tenant already has a message with this externalId and the same settings: nothing new',
          },
          201: { ...MessageWithRecipientsBody, description: "Created: the message and each recipient's short links" },
          ...errorResponses(
            'invalid_request',
            'invalid_json',
            'invalid_url',
            [
              'no_links',
              400,
              'A text holds no URL',
              'the text holds no URL: write at least one, e.g. https://shop.dk/sale or shop.dk/sale',
            ],
            [
              'too_many_links',
              400,
              'A text holds more than 10 distinct URLs',
              'text holds 11 different URLs; at most 10 are allowed',
            ],
            [
              'domain_required',
              400,
              'domain was left out and the tenant has no domain or more than one',
              'name the domain to use: one of s.brand.dk, s.brand.se',
            ],
            [
              'unknown_domain',
              400,
              "domain is not one of this tenant's domains",
              "domain s.other.dk is not one of this tenant's domains",
            ],
            [
              'destination_not_allowed',
              400,
              "The tenant has an allow-list of destination hosts and a link's (or a text URL's) host is not on it",
              "evil.example is not on this tenant's list of allowed destination hosts (*.shop.dk, shop.dk); " +
                'an admin changes it with PUT /v1/tenants/:tenantId/allowed-hosts',
            ],
            ['invalid_expiry', 400, 'expiresAt is not a time, or not in the future', 'expiresAt must be in the future'],
            'unsupported_language',
            ...apiKeyErrors,
            [
              'external_id_conflict',
              409,
              'The externalId is already used by a message with other links or settings; the message names which',
              'message msg_p7Z666gD109LzY4S already has externalId "spring-sale-2025-03-14" with other links: use a new externalId for a different send',
            ],
            ...bodyErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const { fields, recipients } = await callOf<CreateMessageInput>(request.body)
      const result = await createMessage(services, request.tenantId, fields, recipients)
      return sendWithRecipients(request, reply, result.created ? 201 : 200, result, recipients)
    },
  )

  app.post(
    '/v1/messages/:id/recipients',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        ...docs,
        operationId: 'addRecipients',
        summary: 'Add recipients',
        description: [
          'Adds recipients to a message, up to 100,000 per call (request limit 16 MiB). Ids already in the message ' +
            'keep their token and links, so a repeated call is safe.',
          'Answers with the message, `recipientCount` updated, and `recipients` for the ids in this call (same ' +
            'shape as `POST /v1/messages`, texts and segments included). Streamed beyond 1,000 recipients; with ' +
            '`Accept: application/x-ndjson`, newline-delimited JSON like `POST /v1/messages`.',
          "Auth: a tenant's API key.",
        ].join('\n\n'),
        params: MessageParams,
        body: AddRecipients,
        response: {
          200: { ...MessageWithRecipientsBody, description: "The message with the call's recipients" },
          ...errorResponses(
            'invalid_request',
            'invalid_json',
            ...apiKeyErrors,
            notFoundError('message', 'No such message for this tenant'),
            ...bodyErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const { recipients } = await callOf(request.body)
      const result = await addRecipients(services, request.tenantId, request.params.id, recipients)
      return sendWithRecipients(request, reply, 200, result, recipients)
    },
  )

  app.get(
    '/v1/messages',
    {
      schema: {
        ...docs,
        operationId: 'listMessages',
        summary: 'List messages',
        description:
          "The tenant's messages, newest first, without recipients, in the form of `GET /v1/messages/{id}`. " +
          "Pass `nextCursor` as `cursor` for the next page; it is null on the last page.\n\nAuth: a tenant's API key.",
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Messages per page' }),
            cursor: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'The nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              messages: Type.Array(MessageBody, { description: 'Newest first' }),
              nextCursor: Type.Union([Type.String(), Type.Null()], {
                description: 'Pass as cursor for the next page; null on the last page',
              }),
            },
            { description: 'A page of messages', examples: [{ messages: [messageExample], nextCursor: 'bTQy' }] },
          ),
          ...errorResponses('invalid_request', 'invalid_cursor', ...apiKeyErrors),
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
        operationId: 'getMessage',
        summary: 'Get a message',
        description:
          'One message with its links. `shortUrl` is a link without a recipient token (its taps are anonymous). ' +
          'Unset optional fields are null. `segments` is the cost of the text as written and once rewritten (the ' +
          "longest recipient's text: tokens grow with the recipient count), null without a text.\n\n" +
          "Auth: a tenant's API key.",
        params: MessageParams,
        response: {
          200: MessageWithExample,
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('message', 'No such message for this tenant'),
          ),
        },
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
        operationId: 'getMessageStats',
        summary: "A message's stats",
        description: [
          "A message's figures, in total and per link, read from counters kept by the click writer (never from " +
            'raw clicks): clicks by class and by the reason that made a click not human, unique clicking ' +
            'recipients, CTR, delivery figures once delivery reports come, unsubscribe page visits and ' +
            'confirmations, breakdowns by device, OS, browser, hour and day, and attributed conversions.',
          'A click is `human`, `bot` or `preview`. A unique click is the first human click of a recipient ' +
            '(per link for a link, on any link for the message). CTR divides unique clicking recipients by ' +
            'delivered recipients, or by recipients while no delivery report has come. Clicks are written within ' +
            'CLICK_FLUSH_INTERVAL_MS of the tap.',
          "Auth: a tenant's API key.",
        ].join('\n\n'),
        params: MessageParams,
        response: {
          200: StatsBody,
          ...errorResponses(
            'invalid_request',
            ...apiKeyErrors,
            notFoundError('message', 'No such message for this tenant'),
          ),
        },
      },
    },
    async (request) => messageStats(store, await findMessage(request.tenantId, request.params.id)),
  )
}
