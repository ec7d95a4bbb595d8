import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Domain, Link, Message, RecipientIndex } from '../db/store.js'
import { tokenLength, unsubscribeTokenLength, type RecipientTokens, type UnsubscribeTokens } from '../links/tokens.js'
import { textRewriter, type UnsubscribeUrl } from './message-text.js'
import { countSegments } from './segments.js'

/** A message with the recipients a call named, ready to present. */
export interface MessageWithRecipients {
  message: Message
  domain: Domain
  recipients: readonly RecipientIndex[]
  /** The recipients among them that the tenant has opted out. */
  optedOut: ReadonlySet<string>
}

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
    language: message.language,
  }
}

/**
 * The text's cost as written and as sent: the rewritten figures are those of the
 * longest recipient text, the last recipient's (tokens grow with the recipient count).
 */
function messageSegments(message: Message, domain: Domain) {
  // Only the tokens' lengths matter to the figures (see recipientPresenter).
  const placeholderToken = (index: number) => 'x'.repeat(unsubscribeTokenLength(index))
  const rewrite = textRewriter(
    message.text!,
    textLinkPrefixes(message, domain),
    unsubscribeUrlFor(message, domain, placeholderToken),
  )
  const last = Math.max(0, message.recipientCount - 1)
  const longestToken = 'x'.repeat(tokenLength(last))
  return {
    original: countSegments(message.text!.body),
    rewritten: countSegments(rewrite({ index: last, token: longestToken })),
  }
}

/**
 * Builds each recipient's JSON text: the schema's recipient object (in
 * MessageWithRecipientsBody), keys in the order fast-json-stringify wrote them, required
 * ones first. Prepared once per call, then one cheap call per recipient: the pieces
 * around the token are escaped once. Text rather than objects for the serializer: at
 * 100,000 recipients per call, the objects, arrays and links lived until the reply was
 * serialized, and the garbage collector copying them cost more than building them.
 * Opted-out recipients keep their links (the sender's bookkeeping stays whole) but
 * carry `optedOut: true`: the sender must not text them.
 */
function recipientJson(
  result: MessageWithRecipients,
  tokens: RecipientTokens,
  unsubscribeTokens: UnsubscribeTokens,
): (externalId: string, index: number) => string {
  const { message, domain, optedOut } = result
  // `"links":["<prefix 0>` token `","<prefix 1>` token … `"]`
  const linkPieces = message.links.map(
    (link, i) => (i === 0 ? '"links":["' : '","') + escaped(`${domain.baseUrl}/${link.code}-`),
  )
  linkPieces.push('"]')
  const unsubscribeToken = (index: number) => unsubscribeTokens.issue(message.id, index)
  const fullUnsubscribeUrl = unsubscribeUrlFor({ ...message, stripScheme: false }, domain, unsubscribeToken)
  const withLinks = (externalId: string, index: number, token: string): string => {
    let json = `{"id":${JSON.stringify(externalId)},"token":"${token}",${linkPieces[0]!}`
    for (let i = 1; i < linkPieces.length; i++) json += token + linkPieces[i]!
    json += `,"optedOut":${optedOut.has(externalId)}`
    return fullUnsubscribeUrl === undefined
      ? json
      : `${json},"unsubscribeUrl":${JSON.stringify(fullUnsubscribeUrl({ index, token }))}`
  }
  if (message.text === null)
    return (externalId, index) => `${withLinks(externalId, index, tokens.issue(message.id, index))}}`

  const rewrite = textRewriter(
    message.text,
    textLinkPrefixes(message, domain),
    unsubscribeUrlFor(message, domain, unsubscribeToken),
  )
  // Tokens are base62, one unit each in GSM-7 and UCS-2 alike, and are all that differs
  // between recipients' texts. A recipient's click and unsubscribe tokens are both
  // base62(index) plus a fixed-length MAC, so texts whose click tokens have one length
  // cost the same.
  const segmentsByTokenLength = new Map<number, string>()
  return (externalId, index) => {
    const token = tokens.issue(message.id, index)
    const text = rewrite({ index, token })
    let segments = segmentsByTokenLength.get(token.length)
    if (segments === undefined)
      segmentsByTokenLength.set(token.length, (segments = JSON.stringify(countSegments(text))))
    return `${withLinks(externalId, index, token)},"text":${JSON.stringify(text)},"segments":${segments}}`
  }
}

/** A string's JSON form without its quotes, to splice into a JSON string. */
function escaped(value: string): string {
  return JSON.stringify(value).slice(1, -1)
}

/** Recipients per chunk: joined into one string each, and one write each for NDJSON. */
const RECIPIENT_CHUNK = 1_000

/** The JSON texts of `recipients[from, to)`, joined with `separator`. */
function joinedRecipients(
  present: (externalId: string, index: number) => string,
  recipients: readonly RecipientIndex[],
  from: number,
  to: number,
  separator: string,
): string {
  const lines = new Array<string>(to - from)
  for (let i = from; i < to; i++) {
    const { externalId, index } = recipients[i]!
    lines[i - from] = present(externalId, index)
  }
  return lines.join(separator)
}

/**
 * The recipients' JSON texts, `RECIPIENT_CHUNK` at a time, each chunk joined with
 * `separator`. The event loop runs between chunks, whoever reads the stream and
 * however fast: presenting 1,000 recipients (their tokens, texts and segments) is a
 * few milliseconds, and a large answer must not hold taps back for its whole length.
 */
async function* recipientChunks(
  present: (externalId: string, index: number) => string,
  recipients: readonly RecipientIndex[],
  separator: string,
): AsyncGenerator<string> {
  for (let from = 0; from < recipients.length; from += RECIPIENT_CHUNK) {
    yield joinedRecipients(present, recipients, from, Math.min(from + RECIPIENT_CHUNK, recipients.length), separator)
    await nextTurn()
  }
}

/** How an answer listing recipients is written: one JSON document, or NDJSON. */
export type RecipientsFormat = 'json' | 'ndjson'

/**
 * A message with one short link per recipient and link, in the order the call named
 * them: the JSON text of MessageWithRecipientsBody, built here rather than by the
 * route's serializer (see recipientJson); or, as NDJSON, the message without
 * recipients on the first line and one line per recipient.
 *
 * Up to 1,000 recipients it is one string, built at once: a transactional message
 * (one recipient) pays for no stream. Beyond, it is produced lazily, 1,000 recipients
 * at a time, so the answer to 100,000 recipients is never one string (and one
 * buffer) in memory (docs/adr/0023) and never holds the event loop for its length.
 */
export function messageWithRecipientsText(
  result: MessageWithRecipients,
  tokens: RecipientTokens,
  unsubscribeTokens: UnsubscribeTokens,
  format: RecipientsFormat,
): string | AsyncGenerator<string> {
  const present = recipientJson(result, tokens, unsubscribeTokens)
  const message = JSON.stringify(presentMessage(result.message, result.domain))
  const { recipients } = result
  if (recipients.length <= RECIPIENT_CHUNK) {
    const joined = joinedRecipients(present, recipients, 0, recipients.length, format === 'json' ? ',' : '\n')
    if (format === 'json') return `${message.slice(0, -1)},"recipients":[${joined}]}`
    return recipients.length === 0 ? `${message}\n` : `${message}\n${joined}\n`
  }
  return format === 'json' ? jsonChunks(message, present, recipients) : ndjsonChunks(message, present, recipients)
}

async function* jsonChunks(
  message: string,
  present: (externalId: string, index: number) => string,
  recipients: readonly RecipientIndex[],
): AsyncGenerator<string> {
  // The message's own fields, then recipients last, as the schema orders them.
  yield `${message.slice(0, -1)},"recipients":[`
  let first = true
  for await (const chunk of recipientChunks(present, recipients, ',')) {
    yield first ? chunk : `,${chunk}`
    first = false
  }
  yield ']}'
}

async function* ndjsonChunks(
  message: string,
  present: (externalId: string, index: number) => string,
  recipients: readonly RecipientIndex[],
): AsyncGenerator<string> {
  yield `${message}\n`
  for await (const chunk of recipientChunks(present, recipients, '\n')) yield `${chunk}\n`
}
