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

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description })

export const Label = (description: string, maxLength = 128) =>
  Type.String({ minLength: 1, maxLength, pattern: '^\\S(.*\\S)?$', description })

export const ClickCountersBody = Type.Object({
  total: Type.Integer({ description: 'Human clicks, repeats and anonymous clicks included' }),
  unique: Type.Integer({ description: 'Recipients with at least one human click' }),
  bots: Type.Integer({
    description: 'Automated fetches that are not link previews: bots, HEAD requests, too fast, bursts',
  }),
  previews: Type.Integer({ description: 'Link-preview fetches (iMessage, WhatsApp, Slack…)' }),
})

const Counts = (description: string) => Type.Record(Type.String(), Type.Integer(), { description })

export const MessageClicksBody = Type.Object({
  ...ClickCountersBody.properties,
  byReason: Type.Object(
    {
      head_request: Type.Integer(),
      no_user_agent: Type.Integer(),
      bot_user_agent: Type.Integer(),
      preview_user_agent: Type.Integer(),
      too_fast: Type.Integer({
        description: 'Sooner after delivery (or creation) than a person reads and taps: TOO_FAST_MS',
      }),
      burst: Type.Integer({ description: 'A later network fetching the same recipient link within BURST_WINDOW_MS' }),
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
    daySinceSending: Type.Array(Type.Object({ day: Type.Integer(), clicks: Type.Integer() }), {
      description: 'Human clicks per whole day since the message was created (0 = first 24 hours); empty days left out',
    }),
    timeToFirstClick: Type.Object(
      {
        recipients: Type.Integer({ description: 'Recipients with a first human click' }),
        medianSeconds: Nullable(Type.Number()),
        p90Seconds: Nullable(Type.Number()),
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
  id: Type.String(),
  url: Type.String(),
  code: Type.String(),
  shortUrl: Type.String({ description: 'The link without a recipient token (anonymous clicks)' }),
})

export const MessageKindSchema = Type.Union([
  Type.Literal('campaign'),
  Type.Literal('flow'),
  Type.Literal('transactional'),
])

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
  encoding: Type.Union([Type.Literal('GSM-7'), Type.Literal('UCS-2')]),
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
  { additionalProperties: false, minProperties: 1 },
)

export const MessageBody = Type.Object(
  {
    id: Type.String(),
    externalId: Nullable(Type.String()),
    kind: MessageKindSchema,
    campaign: Nullable(Type.String()),
    variant: Nullable(Type.String()),
    domain: Type.String(),
    recipientCount: Type.Integer(),
    unsubscribe: Type.Boolean({ description: 'Whether recipients get an unsubscribe link' }),
    createdAt: Type.String({ format: 'date-time' }),
    text: Nullable(Type.String({ description: 'The SMS text as sent to us, when the message was created from one' })),
    stripScheme: Type.Boolean(),
    utm: Nullable(UtmSchema),
    clickIdParam: Nullable(Type.String()),
    segments: Nullable(
      Type.Object(
        { original: SegmentsBody, rewritten: SegmentsBody },
        { description: "The text's cost as written and once rewritten (the longest recipient's text)" },
      ),
    ),
    links: Type.Array(LinkBody),
    expiresAt: Nullable(Type.String({ format: 'date-time', description: 'When the links expire; null: never' })),
  },
  { examples: [messageExample] },
)

export const MessageWithRecipientsBody = Type.Intersect(
  [
    MessageBody,
    Type.Object({
      recipients: Type.Array(
        Type.Object({
          id: Type.String({ description: "The sender's own recipient id" }),
          token: Type.String(),
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
          segments: Type.Optional(SegmentsBody),
        }),
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
    ],
  },
)

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
}
