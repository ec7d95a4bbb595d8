import { Type } from 'typebox'
import { MAX_LINKS } from '../messages/create-message.js'
import { Label, MessageKindSchema, UtmSchema } from './schemas.js'

// The bodies of the calls that create messages and add recipients: the route
// validates small ones, the recipients thread large ones, with the same schemas.

export const MAX_RECIPIENTS_PER_CALL = 100_000
/** Twilio's limit for one message body; ten parts of UCS-2 are 670. */
const MAX_TEXT_LENGTH = 1_600

const Recipients = Type.Array(Label("The sender's own id for a recipient (e.g. a customer id)"), {
  maxItems: MAX_RECIPIENTS_PER_CALL,
  description: `Your own ids for the recipients, up to ${MAX_RECIPIENTS_PER_CALL} per call (add more with POST /v1/messages/{id}/recipients); a repeated id is taken once`,
})

export const CreateMessage = Type.Object(
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

/** The body of POST /v1/messages/{id}/recipients. */
export const AddRecipients = Type.Object(
  { recipients: Recipients },
  { additionalProperties: false, examples: [{ recipients: ['cust-1003', 'cust-1004'] }] },
)
