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
  bots: Type.Integer({ description: 'Automated fetches: bots, link previews, HEAD requests' }),
})

export const LinkBody = Type.Object({
  id: Type.String(),
  url: Type.String(),
  code: Type.String(),
  shortUrl: Type.String({ description: 'The link without a recipient token (anonymous clicks)' }),
})

export const MessageKindSchema = Type.Union([Type.Literal('campaign'), Type.Literal('flow'), Type.Literal('transactional')])

export const messageExample = {
  id: 'msg_p7Z666gD109LzY4S',
  externalId: 'spring-sale-2025-03-14',
  kind: 'campaign',
  campaign: 'spring-sale',
  variant: 'A',
  domain: 's.brand.dk',
  recipientCount: 2,
  createdAt: '2026-11-23T13:06:34.826Z',
  links: [
    { id: 'lnk_uSVi6oc0ahwxMLT2', url: 'https://shop.example.dk/sale', code: 'Z0SufV', shortUrl: 'https://s.brand.dk/Z0SufV' },
    { id: 'lnk_T1TTJhVSXpy5hFXe', url: 'https://shop.example.dk/stores', code: 'jktz7O', shortUrl: 'https://s.brand.dk/jktz7O' },
  ],
}

export const MessageBody = Type.Object(
  {
    id: Type.String(),
    externalId: Nullable(Type.String()),
    kind: MessageKindSchema,
    campaign: Nullable(Type.String()),
    variant: Nullable(Type.String()),
    domain: Type.String(),
    recipientCount: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    links: Type.Array(LinkBody),
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
          links: Type.Array(Type.String(), { description: "This recipient's short link for each of the message's links" }),
        }),
      ),
    }),
  ],
  {
    examples: [
      {
        ...messageExample,
        recipients: [
          { id: 'cust-1001', token: '0Cob', links: ['https://s.brand.dk/Z0SufV-0Cob', 'https://s.brand.dk/jktz7O-0Cob'] },
          { id: 'cust-1002', token: '12VL', links: ['https://s.brand.dk/Z0SufV-12VL', 'https://s.brand.dk/jktz7O-12VL'] },
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
