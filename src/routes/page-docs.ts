/**
 * What the OpenAPI document says about the routes recipients open on a tenant's host:
 * the short link and the unsubscribe page. They carry no route schema on purpose (a
 * params schema would answer a bad path with a JSON 400 instead of a page a person can
 * read, and the redirect validates nothing on its hot path), so their description is
 * given to the document generator alone (see docs.ts).
 */

/** These routes answer on a tenant's host, not on the API's. */
const tenantHost = [
  {
    url: '{origin}',
    description: "One of the tenant's domains",
    variables: { origin: { default: 'https://s.brand.dk', description: 'The scheme and host of the domain' } },
  },
]

const htmlPage = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
})

const noStore = {
  'cache-control': { type: 'string', description: 'private, max-age=0: each answer is for one person' },
}

const slug = (description: string, example: string) => ({
  type: 'object',
  properties: { slug: { type: 'string', description, example } },
  required: ['slug'],
})

const redirect = {
  operationId: 'redirectShortLink',
  summary: 'Follow a short link',
  tags: ['short links'],
  security: [],
  servers: tenantHost,
  description: [
    "What recipients tap, on a tenant's host: `/{code}-{token}` (a recipient's link) or `/{code}` (the link's " +
      '`shortUrl`, always anonymous). HEAD is answered the same way and counted as a bot. No auth.',
    'The answer is a `302` to the destination, never a `301` (a browser would cache it and the next tap would never ' +
      "arrive), with `Cache-Control: private, max-age=0` and an empty body. The destination carries the message's " +
      '`utm` values (parameters the URL already has win) and, with `clickIdParam`, a fresh click id per tap, placed ' +
      'before any `#fragment`. A token that fails its check still redirects; the click counts as anonymous. The tap ' +
      'is recorded after the answer is sent. No response sets a cookie.',
    "When the message has expired (`expiresAt`): a `302` to the domain's `fallbackUrl` (without UTM values or click " +
      'id), or without one `410` with a small page. The tap is recorded and classified as usual.',
  ].join('\n\n'),
  params: slug('A 6-character base62 code, optionally followed by - and a recipient token', 'Z0SufV-0Cob'),
  response: {
    302: {
      type: 'null',
      description: "Redirect to the link's destination (or, once expired, to the domain's fallbackUrl)",
      headers: {
        location: {
          type: 'string',
          description: 'The destination with UTM values and click id',
          example: 'https://shop.example.dk/sale?utm_source=sms&sl_cid=gvUF74ga0',
        },
        ...noStore,
      },
    },
    404: htmlPage(
      'Page "This link does not work": the Host is not a registered domain, the path is not a code (with an ' +
        'optional token), or no link has that code on that host',
    ),
    410: htmlPage('Page "This link has expired": the message\'s links have expired and the domain has no fallbackUrl'),
  },
}

const unsubscribeSlug = slug(
  "The message's unsubscribe code (6 base62 characters), -, and the recipient's token: base62 of its index and " +
    '6 base62 characters of an HMAC, so a guessed link is accepted at most about once in 5.7 × 10¹⁰ tries',
  'rTeRpk-1xl5070',
)

const unsubscribeCommon = {
  tags: ['unsubscribe pages'],
  security: [],
  servers: tenantHost,
  params: unsubscribeSlug,
}

const pageNotValid = htmlPage(
  'Page "This link is not valid": unknown host or code, or a token that fails its check; nothing changes',
)

const PAGE_HEADERS =
  'Every page is sent with `Cache-Control: private, max-age=0`, `X-Robots-Tag: noindex, nofollow`, ' +
  '`Referrer-Policy: no-referrer`, `X-Frame-Options: DENY` and a Content-Security-Policy that allows no script.'

const showUnsubscribePage = {
  ...unsubscribeCommon,
  operationId: 'showUnsubscribePage',
  summary: 'Show the unsubscribe page',
  description: [
    "What a recipient's `unsubscribeUrl` opens, on the message's host: a small page, \"Stop texts from {tenant " +
      'name}?", with one Unsubscribe button, a plain form (no JavaScript, no external assets). It **changes ' +
      'nothing**: link scanners and chat previews that fetch the link unsubscribe nobody. A GET by a person (not ' +
      'HEAD, not a bot or preview user agent) counts in the stats as `unsubscribes.linkVisits`. No auth.',
    "The page speaks the message's `language`, else the tenant's, else the phone's `Accept-Language`, else " +
      "English (`<html lang>` and `Content-Language` say which); a tenant's own title and text for that language " +
      '(PUT /v1/tenants/{tenantId}/page-texts/{language}) replace the built-in ones, shown as plain text.',
    PAGE_HEADERS,
  ].join('\n\n'),
  response: {
    200: { ...htmlPage('The confirmation page'), headers: noStore },
    404: pageNotValid,
  },
}

const confirmUnsubscribe = {
  ...unsubscribeCommon,
  operationId: 'confirmUnsubscribe',
  summary: 'Confirm the unsubscribe',
  description: [
    "What the page's button sends. With the form's hidden field (`confirm=unsubscribe`) the recipient id goes on " +
      "the tenant's opt-out list (`GET /v1/optouts`, `source: link`) and counts once in the message's " +
      '`unsubscribes.confirmed` (unless the recipient already opted out of this message another way); ' +
      'the answer is the page "You are unsubscribed". Pressing again shows the same page and changes nothing. ' +
      'A POST without the field only shows the confirmation page again. No auth.',
    PAGE_HEADERS,
  ].join('\n\n'),
  body: {
    type: 'object',
    properties: { confirm: { type: 'string', enum: ['unsubscribe'], description: "The form's hidden field" } },
    examples: [{ confirm: 'unsubscribe' }],
  },
  consumes: ['application/x-www-form-urlencoded'],
  response: {
    200: { ...htmlPage('"You are unsubscribed", or the confirmation page again without the field'), headers: noStore },
    404: pageNotValid,
  },
}

/** Documentation-only schemas, by method and Fastify URL. */
export const PAGE_DOCS: Record<string, object> = {
  'GET /:slug': redirect,
  'GET /u/:slug': showUnsubscribePage,
  'POST /u/:slug': confirmUnsubscribe,
}
