import type { Domain, Link, Message, RecipientIndex } from '../db/store.js'
import { tokenLength, type RecipientTokens } from '../links/tokens.js'
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
  const base = message.stripScheme ? domain.baseUrl.replace(/^https?:\/\//, '') : domain.baseUrl
  return message.links.map((link) => `${base}/${link.code}-`)
}

/**
 * A recipient's unsubscribe link, for `{unsubscribe}` in a text: the one place to plug
 * unsubscribe links in (issue 4). None exist yet, so createMessage refuses texts with
 * the placeholder (`unsubscribe_not_available`) and this is never needed.
 */
function unsubscribeUrlFor(_message: Message, _domain: Domain): UnsubscribeUrl | undefined {
  return undefined
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
    createdAt: new Date(message.createdAt).toISOString(),
    text: message.text?.body ?? null,
    stripScheme: message.stripScheme,
    utm: message.utm,
    clickIdParam: message.clickIdParam,
    segments: message.text === null ? null : messageSegments(message, domain),
    links: message.links.map((link) => presentLink(domain, link)),
  }
}

/**
 * The text's cost as written and as sent: the rewritten figures are those of the
 * longest recipient text, the last recipient's (tokens grow with the recipient count).
 */
function messageSegments(message: Message, domain: Domain) {
  const rewrite = textRewriter(message.text!, textLinkPrefixes(message, domain), unsubscribeUrlFor(message, domain))
  const last = Math.max(0, message.recipientCount - 1)
  // Only the token's length matters to the figures (see recipientPresenter); with
  // unsubscribe links, the last recipient's real token will be needed here.
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
  text?: string
  segments?: Segments
}

/** Builds each recipient's JSON form; prepared once per call, then one cheap call per recipient. */
function recipientPresenter(message: Message, domain: Domain, tokens: RecipientTokens) {
  const prefixes = message.links.map((link) => `${domain.baseUrl}/${link.code}-`)
  const withLinks = ({ externalId, index }: RecipientIndex): PresentedRecipient => {
    const token = tokens.issue(message.id, index)
    return { id: externalId, token, links: prefixes.map((prefix) => prefix + token) }
  }
  if (message.text === null) return withLinks

  const rewrite = textRewriter(message.text, textLinkPrefixes(message, domain), unsubscribeUrlFor(message, domain))
  // Tokens are base62, one unit each in GSM-7 and UCS-2 alike, and are all that differs
  // between recipients' texts: texts with tokens of one length cost the same.
  // (Unsubscribe links of varying length would have to join this key.)
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
export function presentMessageWithRecipients(result: MessageWithRecipients, tokens: RecipientTokens) {
  const { message, domain } = result
  return {
    ...presentMessage(message, domain),
    recipients: result.recipients.map(recipientPresenter(message, domain, tokens)),
  }
}

/** Recipients per chunk of an NDJSON response: few enough writes, small enough chunks. */
const NDJSON_CHUNK = 1_000

/**
 * The same response as newline-delimited JSON, produced lazily: first the message
 * without recipients, then one line per recipient. A send to 100,000 recipients is
 * never held in memory as one JSON document.
 */
export function* messageWithRecipientsNdjson(result: MessageWithRecipients, tokens: RecipientTokens): Generator<string> {
  const { message, domain } = result
  yield `${JSON.stringify(presentMessage(message, domain))}\n`
  const present = recipientPresenter(message, domain, tokens)
  for (let from = 0; from < result.recipients.length; from += NDJSON_CHUNK) {
    let chunk = ''
    for (const recipient of result.recipients.slice(from, from + NDJSON_CHUNK)) chunk += `${JSON.stringify(present(recipient))}\n`
    yield chunk
  }
}
