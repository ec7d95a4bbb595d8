import LinkifyIt from 'linkify-it'
import { UNSUBSCRIBE_SPAN, type MessageText, type TextSpan } from '../db/store.js'
import { ApiError } from '../errors.js'
import { normalizeDestination } from '../destination.js'

/** Marks where a recipient's unsubscribe link goes in a text. */
export const UNSUBSCRIBE_PLACEHOLDER = '{unsubscribe}'

/**
 * URL recognition: http(s) URLs, and "fuzzy" ones without a scheme (`www.shop.dk/x`,
 * `shop.dk/x`) whose top-level domain is a known one, so ordinary words with a dot
 * are left alone. No e-mail addresses (`info@shop.dk` is not a link), no bare IP
 * addresses, no ftp:, mailto: or protocol-relative `//` links. See docs/adr/0021.
 */
const linkify = new LinkifyIt({}, { fuzzyLink: true, fuzzyEmail: false, fuzzyIP: false })
  .add('ftp:', null)
  .add('//', null)
  .add('mailto:', null)
  // linkify-it knows every two-letter country TLD and the classic ones; these are
  // common in shop links today.
  .tlds(['app', 'dev', 'online', 'store', 'site', 'xyz', 'club', 'tech', 'travel'], true)

/**
 * Chinese, Japanese and Korean characters, and the full-width and CJK punctuation used
 * with them (`，。！？：；（）「」`). Those texts put no space around a link
 * (`点击https://shop.cn/sale查看详情`): a URL may touch them on either side, and ends
 * at the first of them.
 */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/gu

/**
 * The text with every CJK character replaced by spaces (as many as its UTF-16 units),
 * so that linkify-it sees the word boundaries it needs and offsets stay the same.
 */
const withCjkAsSpaces = (text: string): string => text.replace(CJK, (char) => ' '.repeat(char.length))

/** Punctuation linkify-it keeps at the end of a URL but SMS writers put after one. */
const TRAILING_PUNCTUATION = /[…”’»›:*]+$/u

/**
 * A capitalised top-level domain (`soon.No`, `in.It`) is what a missing space after a
 * full stop looks like, not a link; a host typed in capitals (`SHOP.DK`) still is.
 */
function looksLikeSentence(host: string): boolean {
  const tld = host.slice(host.lastIndexOf('.') + 1)
  return /^[A-Z][a-z]/.test(tld)
}

export interface ParsedText {
  text: MessageText
  /** The text's distinct destinations, normalised, in order of first appearance. */
  urls: string[]
  hasUnsubscribe: boolean
}

/**
 * Finds every URL in an SMS text and the `{unsubscribe}` placeholders. A URL without
 * a scheme gets `https://`; each is checked and normalised like a `links` entry, and
 * the same destination twice is one link. Throws a 400 for a bad URL or more than
 * `maxLinks` distinct ones.
 */
export function parseMessageText(body: string, maxLinks: number): ParsedText {
  const urls: string[] = []
  const spans: TextSpan[] = []
  // Split at the placeholder first, so that a URL right before it cannot swallow it.
  const pieces = body.split(UNSUBSCRIBE_PLACEHOLDER)
  let offset = 0
  pieces.forEach((piece, i) => {
    for (const match of linkify.match(withCjkAsSpaces(piece)) ?? []) {
      const raw = match.raw.replace(TRAILING_PUNCTUATION, '')
      const fuzzy = match.schema === ''
      if (fuzzy && looksLikeSentence(raw.split(/[/?#:]/, 1)[0]!)) continue
      const url = normalizeDestination(fuzzy ? `https://${raw}` : raw, `the URL ${JSON.stringify(raw)} in text`)
      let position = urls.indexOf(url)
      if (position === -1) position = urls.push(url) - 1
      spans.push({ start: offset + match.index, end: offset + match.index + raw.length, link: position })
    }
    offset += piece.length
    if (i < pieces.length - 1) {
      spans.push({ start: offset, end: offset + UNSUBSCRIBE_PLACEHOLDER.length, link: UNSUBSCRIBE_SPAN })
      offset += UNSUBSCRIBE_PLACEHOLDER.length
    }
  })
  if (urls.length > maxLinks) {
    throw new ApiError(
      400,
      'too_many_links',
      `text holds ${urls.length} different URLs; at most ${maxLinks} are allowed`,
    )
  }
  return { text: { body, spans }, urls, hasUnsubscribe: pieces.length > 1 }
}

/** Who a text is rewritten for: the recipient's index in the message and its token. */
export interface TextRecipient {
  index: number
  token: string
}

/** A recipient's unsubscribe link, for `{unsubscribe}` (built in src/messages/present.ts). */
export type UnsubscribeUrl = (recipient: TextRecipient) => string

/**
 * Prepares a text for rewriting once per message; the returned function builds one
 * recipient's text by joining fixed pieces with the recipient's token, so a send to
 * 100,000 recipients costs a string join each.
 *
 * `linkPrefixes[i]` is link i's short URL up to its token (`https://s.brand.dk/AbC123-`).
 */
export function textRewriter(
  text: MessageText,
  linkPrefixes: string[],
  unsubscribeUrl?: UnsubscribeUrl,
): (recipient: TextRecipient) => string {
  const literals: string[] = []
  const holes: number[] = []
  let from = 0
  for (const span of text.spans) {
    literals.push(text.body.slice(from, span.start))
    holes.push(span.link)
    from = span.end
  }
  literals.push(text.body.slice(from))
  if (holes.includes(UNSUBSCRIBE_SPAN) && unsubscribeUrl === undefined) {
    throw new Error('a text with {unsubscribe} was stored, but nothing builds unsubscribe links')
  }
  return (recipient) => {
    let out = literals[0]!
    for (let i = 0; i < holes.length; i++) {
      const hole = holes[i]!
      out += hole === UNSUBSCRIBE_SPAN ? unsubscribeUrl!(recipient) : linkPrefixes[hole]! + recipient.token
      out += literals[i + 1]!
    }
    return out
  }
}
