import type { Domain, Link, Message, RecipientIndex } from '../db/store.js'
import { tokenLength, unsubscribeTokenLength, type RecipientTokens, type UnsubscribeTokens } from '../links/tokens.js'
import type { MessageWithRecipients } from './create-message.js'
import { textRewriter, type UnsubscribeUrl } from './message-text.js'
import { countSegments, type Segments } from './segments.js'

/** The JSON form of a link: where it goes and its bare short URL. */
export function presentLink(domain: Domain, link: Link) {
  return { id: link.publicId, url: link.url, code: link.code, shortUrl: `${domain.baseUrl}/${link.code}` }
}

/**
 * Where each short link of a recipient's text starts, up to the token. With
 * stripScheme, `https://` (or `http://`) is left out: phones still recognise
 * `s.brand.dk/AbC123-1xYz` as a link, and the text is 8 characters shorter per link.
 */
function textLinkPrefixes(message: Message, domain: Domain): string[] {
  const base = textBase(message, domain)
  return message.links.map((link) => `${base}/${link.code}-`)
}

/** The path of a recipient's unsubscribe page, after the domain's base URL. */
export function unsubscribePath(code: string, token: string): string {
  return `/u/${code}-${token}`
}

/** Where a text's `{unsubscribe}` links start: like its short links, without the scheme under stripScheme. */
function textBase(message: Message, domain: Domain): string {
  return message.stripScheme ? domain.baseUrl.replace(/^https?:\/\//, '') : domain.baseUrl
}

/**
 * A recipient's unsubscribe link for `{unsubscribe}` in a text, or undefined when the
 * message has no unsubscribe links. `token` gives the recipient's unsubscribe token.
 */
function unsubscribeUrlFor(
  message: Message,
  domain: Domain,
  token: (index: number) => string,
): UnsubscribeUrl | undefined {
  const code = message.unsubscribeCode
  if (code === null) return undefined
  const base = textBase(message, domain)
  return ({ index }) => base + unsubscribePath(code, token(index))
}

/** The JSON form of a message, without its recipients. */
export function presentMessage(message: Message, domain: Domain) {
  return {
    id: message.publicId,
    externalId: message.externalId,
    kind: message.kind,
    campaign: message.campaign,
    variant: message.variant,
    domain: domain.host,
    recipientCount: message.recipientCount,
    unsubscribe: message.unsubscribeCode !== null,
    createdAt: new Date(message.createdAt).toISOString(),
    text: message.text?.body ?? null,
    stripScheme: message.stripScheme,
    utm: message.utm,
    clickIdParam: message.clickIdParam,
    segments: message.text === null ? null : messageSegments(message, domain),
    links: message.links.map((link) => presentLink(domain, link)),
    expiresAt: message.expiresAt === null ? null : new Date(message.expiresAt).toISOString(),
  }
}

/**
 * The text's cost as written and as sent: the rewritten figures are those of the
 * longest recipient text, the last recipient's (tokens grow with the recipient count).
 */
function messageSegments(message: Message, domain: Domain) {
  // Only the tokens' lengths matter to the figures (see recipientPresenter).
  const placeholderToken = (index: number) => 'x'.repeat(unsubscribeTokenLength(index))
  const rewrite = textRewriter(message.text!, textLinkPrefixes(message, domain), unsubscribeUrlFor(message, domain, placeholderToken))
  const last = Math.max(0, message.recipientCount - 1)
  const longestToken = 'x'.repeat(tokenLength(last))
  return {
    original: countSegments(message.text!.body),
    rewritten: countSegments(rewrite({ index: last, token: longestToken })),
  }
}

/** One recipient as the API returns it; text and segments only for a message with a text. */
export interface PresentedRecipient {
  id: string
  token: string
  links: string[]
  unsubscribeUrl?: string
  optedOut: boolean
  text?: string
  segments?: Segments
}

/**
 * Builds each recipient's JSON form; prepared once per call, then one cheap call per
 * recipient. Opted-out recipients keep their links (the sender's bookkeeping stays
 * whole) but carry `optedOut: true`: the sender must not text them.
 */
function recipientPresenter(result: MessageWithRecipients, tokens: RecipientTokens, unsubscribeTokens: UnsubscribeTokens) {
  const { message, domain, optedOut } = result
  const prefixes = message.links.map((link) => `${domain.baseUrl}/${link.code}-`)
  const unsubscribeToken = (index: number) => unsubscribeTokens.issue(message.id, index)
  const unsubscribeUrl = unsubscribeUrlFor(message, domain, unsubscribeToken)
  const fullUnsubscribeUrl = unsubscribeUrlFor({ ...message, stripScheme: false }, domain, unsubscribeToken)
  const withLinks = ({ externalId, index }: RecipientIndex): PresentedRecipient => {
    const token = tokens.issue(message.id, index)
    return {
      id: externalId,
      token,
      links: prefixes.map((prefix) => prefix + token),
      ...(fullUnsubscribeUrl === undefined ? {} : { unsubscribeUrl: fullUnsubscribeUrl({ index, token }) }),
      optedOut: optedOut.has(externalId),
    }
  }
  if (message.text === null) return withLinks

  const rewrite = textRewriter(message.text, textLinkPrefixes(message, domain), unsubscribeUrl)
  // Tokens are base62, one unit each in GSM-7 and UCS-2 alike, and are all that differs
  // between recipients' texts. A recipient's click and unsubscribe tokens are both
  // base62(index) plus a fixed-length MAC, so texts whose click tokens have one length
  // cost the same.
  const segmentsByTokenLength = new Map<number, Segments>()
  return (recipient: RecipientIndex): PresentedRecipient => {
    const presented = withLinks(recipient)
    const text = rewrite({ index: recipient.index, token: presented.token })
    let segments = segmentsByTokenLength.get(presented.token.length)
    if (segments === undefined) segmentsByTokenLength.set(presented.token.length, (segments = countSegments(text)))
    return { ...presented, text, segments }
  }
}

/** A message with one short link per recipient and link, in the order the call named them. */
export function presentMessageWithRecipients(
  result: MessageWithRecipients,
  tokens: RecipientTokens,
  unsubscribeTokens: UnsubscribeTokens,
) {
  return {
    ...presentMessage(result.message, result.domain),
    recipients: result.recipients.map(recipientPresenter(result, tokens, unsubscribeTokens)),
  }
}

/** Recipients per chunk of an NDJSON response: few enough writes, small enough chunks. */
const NDJSON_CHUNK = 1_000

/**
 * The same response as newline-delimited JSON, produced lazily: first the message
 * without recipients, then one line per recipient. A send to 100,000 recipients is
 * never held in memory as one JSON document.
 */
export function* messageWithRecipientsNdjson(
  result: MessageWithRecipients,
  tokens: RecipientTokens,
  unsubscribeTokens: UnsubscribeTokens,
): Generator<string> {
  yield `${JSON.stringify(presentMessage(result.message, result.domain))}\n`
  const present = recipientPresenter(result, tokens, unsubscribeTokens)
  for (let from = 0; from < result.recipients.length; from += NDJSON_CHUNK) {
    let chunk = ''
    for (const recipient of result.recipients.slice(from, from + NDJSON_CHUNK)) chunk += `${JSON.stringify(present(recipient))}\n`
    yield chunk
  }
}
