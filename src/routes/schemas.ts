import { Type } from 'typebox'

/** The body of every error the API returns. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Stable code for programs, e.g. invalid_request, not_found' }),
    message: Type.String({ description: 'What to fix, for people' }),
  },
  { $id: 'Error' },
)

/** The error body with an example of its own, for an error a route's document should show. */
export const ErrorExample = (error: string, message: string) =>
  Type.Object(ErrorBody.properties, { examples: [{ error, message }] })

/**
 * Every `error` code the API answers with: its status, what it means, and a message it
 * comes with. The document lists, per operation, the codes it can return.
 */
const ERROR_CODES = {
  invalid_request: [
    400,
    'The body, query string or path parameters do not match the schema (missing field, wrong type, out of range, unknown field), or the request is otherwise malformed',
    "body must have required property 'recipients'",
  ],
  invalid_json: [
    400,
    'The body is not valid JSON, or is empty while Content-Type says JSON',
    "Body is not valid JSON but content-type is set to 'application/json'",
  ],
  invalid_url: [
    400,
    'A URL is not an absolute http(s) URL with a full host name, carries a user name or password, or is longer than 2,048 characters once encoded',
    'links[0].url must start with http:// or https://',
  ],
  invalid_host: [
    400,
    'Not a bare host name (a scheme, path, user name or blank in it)',
    'host must be a bare host name such as s.brand.dk',
  ],
  unsupported_language: [
    400,
    'Not a language the pages come in; the message lists those there are',
    'language "fr" is not a language the pages come in: use one of da, de, en, nb, sv, zh-Hans (or no, nn, zh, zh-CN, zh-SG)',
  ],
  invalid_cursor: [
    400,
    'The cursor is not a nextCursor from an earlier page',
    'cursor must be a nextCursor value from an earlier page',
  ],
  invalid_path: [
    400,
    'The request path is not valid percent-encoding (e.g. /v1/messages/%zz)',
    "the path is not valid: '/v1/messages/%zz' is not a valid url component",
  ],
  unauthorized: [
    401,
    'No bearer token, or an unknown or revoked API key',
    'the API key is not valid or has been revoked',
  ],
  admin_disabled: [
    403,
    'The service runs without ADMIN_TOKEN: admin endpoints are off',
    'admin endpoints are off: set ADMIN_TOKEN to use them',
  ],
  not_found: [404, 'No such resource for this tenant', 'message not found'],
  body_too_large: [413, "The body exceeds the route's limit", 'Request body is too large'],
  unsupported_media_type: [415, 'The body is not application/json', 'Unsupported Media Type'],
  rate_limited: [
    429,
    'More than API_RATE_LIMIT_PER_MINUTE calls in a minute with this key, or API_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE from this address without valid credentials; Retry-After says how many seconds to wait',
    'more than 120000 requests a minute with this API key: retry in 12 seconds',
  ],
  database_unavailable: [
    503,
    'The database cannot be reached right now (PostgreSQL is away, or another process holds SQLite for longer than 10 s); Retry-After says how many seconds to wait. Repeating the call is safe: a create call with an externalId returns what the failed one stored',
    'The database cannot be reached right now. Try again shortly.',
  ],
} as const satisfies Record<string, readonly [number, string, string]>

export type ErrorCode = keyof typeof ERROR_CODES | (string & {})

/** A code the route answers with, and what it means there (and a message it comes with) when not the usual. */
export type ErrorUse =
  keyof typeof ERROR_CODES | readonly [code: ErrorCode, status: number, meaning: string, message: string]

/** A 404 not_found for a route: what is not found, and when. */
export const notFoundError = (what: string, when: string): ErrorUse => ['not_found', 404, when, `${what} not found`]

/**
 * The error responses of an operation: per status, the shared error body, a description
 * listing each code with its meaning, and the first code as the example.
 */
export function errorResponses(...uses: readonly ErrorUse[]) {
  const byStatus = new Map<number, { code: string; meaning: string; message: string }[]>()
  for (const use of uses) {
    const [code, status, meaning, message] = typeof use === 'string' ? [use, ...ERROR_CODES[use]] : use
    const entries = byStatus.get(status) ?? []
    entries.push({ code, meaning, message })
    byStatus.set(status, entries)
  }
  const responses: Record<number, ReturnType<typeof ErrorExample>> = {}
  for (const [status, entries] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = Type.Object(ErrorBody.properties, {
      description: entries.map(({ code, meaning }) => `\`${code}\`: ${meaning}.`).join('\n\n'),
      examples: [{ error: entries[0]!.code, message: entries[0]!.message }],
    })
  }
  return responses
}

/** The errors every route behind an API key can answer with. */
export const apiKeyErrors = ['unauthorized', 'rate_limited', 'database_unavailable'] as const

/** The errors every admin route can answer with. */
export const adminErrors: readonly ErrorUse[] = [
  [
    'unauthorized',
    401,
    'No bearer token, or not the ADMIN_TOKEN',
    'send ADMIN_TOKEN as "Authorization: Bearer <token>"',
  ],
  'admin_disabled',
  'rate_limited',
  'database_unavailable',
]

/** The errors of a JSON request body beyond its schema: not JSON, too large, not JSON at all. */
export const bodyErrors = ['invalid_json', 'body_too_large', 'unsupported_media_type'] as const

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

/** Opt-outs by the channel they came by. */
export const UnsubscribesBySource = Type.Object(
  {
    link: Type.Integer({ description: 'Confirmed on the unsubscribe page' }),
    reply: Type.Integer({ description: 'Replied to the sender (STOP, AFMELD, 回T退订 …), posted to POST /v1/optouts' }),
    import: Type.Integer({ description: 'Imported from another list, posted to POST /v1/optouts' }),
    support: Type.Integer({ description: "Asked the sender's support, posted to POST /v1/optouts" }),
  },
  { description: 'Recipients who opted out of these messages, by channel; each counts once per message' },
)

export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description })

export const Label = (description: string, maxLength = 128) =>
  Type.String({ minLength: 1, maxLength, pattern: '^\\S(.*\\S)?$', description })

export const ClickCountersBody = Type.Object({
  total: Type.Integer({ description: 'Human clicks, repeats and anonymous clicks included' }),
  unique: Type.Integer({ description: 'Recipients with at least one human click' }),
  bots: Type.Integer({
    description: 'Automated fetches that are not link previews: bots, HEAD requests, too fast, bursts, sweeps',
  }),
  previews: Type.Integer({ description: 'Link-preview fetches (iMessage, WhatsApp, Slack…)' }),
})

const Counts = (description: string) => Type.Record(Type.String(), Type.Integer(), { description })

export const MessageClicksBody = Type.Object({
  ...ClickCountersBody.properties,
  pending: Type.Integer({
    description:
      'Clicks made within SWEEP_WINDOW_MS of sending whose verdict is not final yet (a sweep is seen only once ' +
      'several of its fetches are in): counted in none of the other figures until they settle, about ' +
      'SWEEP_SPAN_MS after they were made. 0: every figure is final.',
  }),
  byReason: Type.Object(
    {
      head_request: Type.Integer({ description: 'HEAD requests: link checkers, never a person' }),
      no_user_agent: Type.Integer({ description: 'Requests without a User-Agent' }),
      bot_user_agent: Type.Integer({ description: 'A crawler or bot User-Agent' }),
      preview_user_agent: Type.Integer({ description: "A chat app's link-preview User-Agent" }),
      too_fast: Type.Integer({
        description: 'Sooner after delivery (or creation) than a person reads and taps: TOO_FAST_MS',
      }),
      burst: Type.Integer({ description: 'A later network fetching the same recipient link within BURST_WINDOW_MS' }),
      sweep: Type.Integer({
        description:
          'One network and user agent fetching the links of many recipients of the message at a machine cadence ' +
          'soon after sending (a carrier firewall or security scanner): SWEEP_* settings',
      }),
    },
    { description: 'Clicks that are not human, by the reason that decided it' },
  ),
})

export const BreakdownsBody = Type.Object(
  {
    device: Counts('Human clicks per device type: mobile, tablet, desktop, unknown…'),
    os: Counts('Human clicks per operating system'),
    browser: Counts('Human clicks per browser'),
    hourOfDay: Type.Array(Type.Integer(), { description: 'Human clicks per hour of day, UTC; index 0 is 00:00–00:59' }),
    daySinceSending: Type.Array(
      Type.Object({
        day: Type.Integer({ description: 'Whole days since creation' }),
        clicks: Type.Integer({ description: 'Human clicks that day' }),
      }),
      {
        description:
          'Human clicks per whole day since the message was created (0 = first 24 hours); empty days left out',
      },
    ),
    timeToFirstClick: Type.Object(
      {
        recipients: Type.Integer({ description: 'Recipients with a first human click' }),
        medianSeconds: Nullable(Type.Number({ description: 'Median seconds to the first click; null without clicks' })),
        p90Seconds: Nullable(Type.Number({ description: '90th percentile; null without clicks' })),
      },
      {
        description:
          "From the message's creation to each recipient's first human click; bucketed (4 buckets per doubling, ±10 %)",
      },
    ),
  },
  { description: 'Read from counters kept by the click flush, never from raw clicks' },
)

export const LinkBody = Type.Object({
  id: Type.String({ description: 'Link id, lnk_…' }),
  url: Type.String({
    description: 'The destination, normalised (international hosts as punycode, spaces and non-ASCII escaped)',
  }),
  code: Type.String({ description: "The link's short code: 6 base62 characters" }),
  shortUrl: Type.String({ description: 'The link without a recipient token (anonymous clicks)' }),
})

export const MessageKindSchema = Type.Union(
  [Type.Literal('campaign'), Type.Literal('flow'), Type.Literal('transactional')],
  { description: 'campaign (marketing sends), flow (automated journeys) or transactional (orders, codes…)' },
)

export const messageExample = {
  id: 'msg_p7Z666gD109LzY4S',
  externalId: 'spring-sale-2025-03-14',
  kind: 'campaign',
  campaign: 'spring-sale',
  variant: 'A',
  domain: 's.brand.dk',
  recipientCount: 2,
  unsubscribe: false,
  createdAt: '2026-11-23T13:06:34.826Z',
  text: null,
  stripScheme: false,
  utm: null,
  clickIdParam: null,
  segments: null,
  expiresAt: null,
  language: null,
  links: [
    {
      id: 'lnk_uSVi6oc0ahwxMLT2',
      url: 'https://shop.example.dk/sale',
      code: 'Z0SufV',
      shortUrl: 'https://s.brand.dk/Z0SufV',
    },
    {
      id: 'lnk_T1TTJhVSXpy5hFXe',
      url: 'https://shop.example.dk/stores',
      code: 'jktz7O',
      shortUrl: 'https://s.brand.dk/jktz7O',
    },
  ],
}

export const SegmentsBody = Type.Object({
  encoding: Type.Union([Type.Literal('GSM-7'), Type.Literal('UCS-2')], {
    description: 'GSM-7 when every character is in the GSM alphabet, else UCS-2',
  }),
  characters: Type.Integer({
    description: 'GSM-7 septets (extension characters count 2) or UTF-16 units (emoji count 2)',
  }),
  parts: Type.Integer({ description: 'SMS parts: 160/153 per part for GSM-7, 70/67 for UCS-2' }),
})

const UtmValue = (name: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: `utm_${name}` }))

export const UtmSchema = Type.Object(
  {
    source: UtmValue('source'),
    medium: UtmValue('medium'),
    campaign: UtmValue('campaign'),
    term: UtmValue('term'),
    content: UtmValue('content'),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      'Added to every destination as utm_source=… etc. when a recipient taps, never overwriting a parameter the URL ' +
      'already has. Stored links and stats keep the URL as given.',
  },
)

/**
 * A message as every answer shows it. Its example sits on the operations that answer
 * with it alone: OpenAPI 3.0 allows no `examples` inside a schema that others include.
 */
export const MessageBody = Type.Object({
  id: Type.String({ description: 'Message id, msg_…' }),
  externalId: Nullable(Type.String({ description: 'Your id for this send; null when none was given' })),
  kind: MessageKindSchema,
  campaign: Nullable(Type.String({ description: 'Campaign name, for roll-ups and A/B tests' })),
  variant: Nullable(Type.String({ description: 'A/B variant label' })),
  domain: Type.String({ description: 'Host of the short links' }),
  recipientCount: Type.Integer({ description: 'Recipients of the message, all calls together' }),
  unsubscribe: Type.Boolean({ description: 'Whether recipients get an unsubscribe link' }),
  createdAt: Type.String({ format: 'date-time', description: 'When the message was created' }),
  text: Nullable(Type.String({ description: 'The SMS text as sent to us, when the message was created from one' })),
  stripScheme: Type.Boolean({ description: 'Short links inside rewritten texts are written without https://' }),
  utm: Nullable(UtmSchema),
  clickIdParam: Nullable(
    Type.String({ description: "Query parameter that carries each tap's click id to the landing page" }),
  ),
  segments: Nullable(
    Type.Object(
      {
        original: { ...SegmentsBody, description: 'The text as written' },
        rewritten: { ...SegmentsBody, description: "The longest recipient's rewritten text" },
      },
      { description: "The text's cost as written and once rewritten (the longest recipient's text)" },
    ),
  ),
  links: Type.Array(LinkBody, { description: "The message's links, in order" }),
  expiresAt: Nullable(Type.String({ format: 'date-time', description: 'When the links expire; null: never' })),
  language: Nullable(
    Type.String({
      description:
        "The language of the recipients' pages (da, de, en, nb, sv or zh-Hans); null: the tenant's default, else the phone's",
    }),
  ),
})

/** A message on its own, with its example: the answer of GET /v1/messages/{id}. */
export const MessageWithExample = Type.Object(MessageBody.properties, {
  description: 'The message',
  examples: [messageExample],
})

export const MessageWithRecipientsBody = Type.Intersect(
  [
    MessageBody,
    Type.Object({
      recipients: Type.Array(
        Type.Object({
          id: Type.String({ description: "The sender's own recipient id" }),
          token: Type.String({
            description: "This recipient's token: base62 of its index in the message and a short HMAC",
          }),
          links: Type.Array(Type.String(), {
            description: "This recipient's short link for each of the message's links",
          }),
          unsubscribeUrl: Type.Optional(
            Type.String({
              description: "This recipient's unsubscribe page; only when the message has unsubscribe links",
            }),
          ),
          optedOut: Type.Boolean({
            description:
              'The tenant has this recipient on its opt-out list: it still gets links, but must not be texted',
          }),
          text: Type.Optional(
            Type.String({ description: "The text with every URL replaced by this recipient's short link" }),
          ),
          segments: Type.Optional({ ...SegmentsBody, description: "The cost of this recipient's text" }),
        }),
        { description: 'The recipients named in the call, in the order given' },
      ),
    }),
  ],
  {
    examples: [
      {
        ...messageExample,
        recipients: [
          {
            id: 'cust-1001',
            token: '0Cob',
            links: ['https://s.brand.dk/Z0SufV-0Cob', 'https://s.brand.dk/jktz7O-0Cob'],
            optedOut: false,
          },
          {
            id: 'cust-1002',
            token: '12VL',
            links: ['https://s.brand.dk/Z0SufV-12VL', 'https://s.brand.dk/jktz7O-12VL'],
            optedOut: false,
          },
        ],
      },
      // A message from a text, with tracking and unsubscribe links: a real answer.
      {
        id: 'msg_jAA97wQBEqqED0Xw',
        externalId: 'black-friday-2026',
        kind: 'campaign',
        campaign: null,
        variant: null,
        domain: 's.brand.dk',
        recipientCount: 2,
        unsubscribe: true,
        createdAt: '2026-11-23T13:38:21.102Z',
        text: 'Black Friday -30% on everything: https://shop.example.dk/black-friday?ref=sms and stores at shop.example.dk/stores {unsubscribe}',
        stripScheme: true,
        utm: { source: 'sms', medium: 'sms', campaign: 'black-friday' },
        clickIdParam: 'sl_cid',
        segments: {
          original: { encoding: 'GSM-7', characters: 130, parts: 1 },
          rewritten: { encoding: 'GSM-7', characters: 120, parts: 1 },
        },
        links: [
          {
            id: 'lnk_vLRb8wBnI5q8geRG',
            url: 'https://shop.example.dk/black-friday?ref=sms',
            code: '0lHGxT',
            shortUrl: 'https://s.brand.dk/0lHGxT',
          },
          {
            id: 'lnk_Kyksm7PigNeaXQTN',
            url: 'https://shop.example.dk/stores',
            code: 'Wfrvr8',
            shortUrl: 'https://s.brand.dk/Wfrvr8',
          },
        ],
        expiresAt: null,
        language: null,
        recipients: [
          {
            id: 'cust-1001',
            token: '0xjl',
            links: ['https://s.brand.dk/0lHGxT-0xjl', 'https://s.brand.dk/Wfrvr8-0xjl'],
            optedOut: false,
            unsubscribeUrl: 'https://s.brand.dk/u/N9Abuq-0peJ3qa',
            text: 'Black Friday -30% on everything: s.brand.dk/0lHGxT-0xjl and stores at s.brand.dk/Wfrvr8-0xjl s.brand.dk/u/N9Abuq-0peJ3qa',
            segments: { encoding: 'GSM-7', characters: 120, parts: 1 },
          },
          {
            id: 'cust-1002',
            token: '19CL',
            links: ['https://s.brand.dk/0lHGxT-19CL', 'https://s.brand.dk/Wfrvr8-19CL'],
            optedOut: false,
            unsubscribeUrl: 'https://s.brand.dk/u/N9Abuq-1ZMmpDL',
            text: 'Black Friday -30% on everything: s.brand.dk/0lHGxT-19CL and stores at s.brand.dk/Wfrvr8-19CL s.brand.dk/u/N9Abuq-1ZMmpDL',
            segments: { encoding: 'GSM-7', characters: 120, parts: 1 },
          },
        ],
      },
    ],
  },
)
