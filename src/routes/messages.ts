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
import { messageWithRecipientsText, presentMessage } from '../messages/present.js'
import type { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
import { requireApiKey } from '../tenants/auth.js'
import { parseLongJsonBodiesInSlices } from '../sliced-json.js'
import {
  BreakdownsBody,
  ClickCountersBody,
  apiKeyErrors,
  bodyErrors,
  errorResponses,
  MessageClicksBody,
  Id,
  Label,
  MessageBody,
  MessageKindSchema,
  MessageWithExample,
  MessageWithRecipientsBody,
  notFoundError,
  UnsubscribesBySource,
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
  description: `Your own ids for the recipients, up to ${MAX_RECIPIENTS_PER_CALL} per call (add more with POST /v1/messages/{id}/recipients); a repeated id is taken once`,
})

const CreateMessage = Type.Object(
  {
    domain: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 260,
        description: "Host of the short links, one of the tenant's domains; optional when the tenant has exactly one",
      }),
    ),
    externalId: Type.Optional(Label('Your id for this send; re-posting it returns the existing message')),
    kind: Type.Optional({ ...MessageKindSchema, description: 'Default campaign' }),
    campaign: Type.Optional(Label('Campaign name, for roll-ups and A/B tests')),
    variant: Type.Optional(Label('A/B variant label', 64)),
    links: Type.Optional(
      Type.Array(
        Type.Object(
          {
            url: Type.String({
              minLength: 1,
              maxLength: 4096,
              description:
                'Destination: an absolute http(s) URL with a full host name (or localhost), no user name or password, ' +
                'at most 2,048 characters once normalised',
            }),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          maxItems: MAX_LINKS,
          description: 'The destinations, stored and redirected to in normalised form; or give "text" instead',
        },
      ),
    ),
    text: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_TEXT_LENGTH,
        description:
          'An SMS text instead of "links": every URL in it (https://shop.dk/x, www.shop.dk/x and shop.dk/x alike) ' +
          'becomes a link, 1-10 distinct ones in order of first appearance, and each recipient gets the text with ' +
          "its own short links. {unsubscribe} in the text becomes the recipient's unsubscribe link",
      }),
    ),
    stripScheme: Type.Optional(
      Type.Boolean({
        description:
          'Only with text: leave https:// out of short links inside rewritten texts (8 characters less per link); default false',
      }),
    ),
    utm: Type.Optional(UtmSchema),
    clickIdParam: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,31}$',
        description:
          "Query parameter that carries each tap's fresh click id to the landing page, e.g. sl_cid (not utm_…, not a " +
          'parameter of any destination); the id is stored with the click, for POST /v1/conversions',
      }),
    ),
    recipients: Recipients,
    unsubscribe: Type.Optional(
      Type.Boolean({ description: 'Give each recipient an unsubscribe link (unsubscribeUrl); default false' }),
    ),
    language: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 16,
        description:
          "The language of the recipients' pages (unsubscribe, expired, not found): da, de, en, nb, sv or zh-Hans, or an " +
          "alias (no, nn, zh, zh-CN, zh-SG). Without it the pages use the tenant's default language, else the phone's " +
          'Accept-Language, else English. Stored as the canonical tag',
        examples: ['da'],
      }),
    ),
    expiresAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          "When the links stop going to their destinations (ISO 8601, in the future): afterwards they redirect to the domain's fallbackUrl, or answer 410. Expired taps still count in stats",
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
      {
        externalId: 'black-friday-2026',
        text: 'Black Friday -30% on everything: https://shop.example.dk/black-friday?ref=sms and stores at shop.example.dk/stores {unsubscribe}',
        stripScheme: true,
        utm: { source: 'sms', medium: 'sms', campaign: 'black-friday' },
        clickIdParam: 'sl_cid',
        recipients: ['cust-1001', 'cust-1002'],
      },
    ],
  },
)

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
  MessageServices & { tokens: RecipientTokens; unsubscribeTokens: UnsubscribeTokens }
> = async (app, services) => {
  const { store, tokens, unsubscribeTokens } = services
  app.addHook('onRequest', requireApiKey(store))
  // 100,000 recipient ids are a long body: parsed a slice at a time, between taps.
  parseLongJsonBodiesInSlices(app)
  /** What the OpenAPI document says about every route here. */
  const docs = { tags: ['messages'], security: [{ apiKey: [] }] }

  const sendWithRecipients = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    result: MessageWithRecipients,
  ) => {
    reply.code(status)
    const format = wantsNdjson(request) ? 'ndjson' : 'json'
    const body = messageWithRecipientsText(result, tokens, unsubscribeTokens, format)
    // Already JSON text of the response schema, whole or streamed: Fastify sends it as it is.
    return reply
      .type(format === 'json' ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .send(typeof body === 'string' ? body : Readable.from(body))
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
        body: Type.Object(
          { recipients: Recipients },
          { additionalProperties: false, examples: [{ recipients: ['cust-1003', 'cust-1004'] }] },
        ),
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
      const result = await addRecipients(services, request.tenantId, request.params.id, request.body.recipients)
      return sendWithRecipients(request, reply, 200, result)
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
