import type { Domain, Link, Message } from '../db/store.js'
import type { RecipientTokens } from '../links/tokens.js'
import type { MessageWithRecipients } from './create-message.js'

/** The JSON form of a link: where it goes and its bare short URL. */
export function presentLink(domain: Domain, link: Link) {
  return { id: link.publicId, url: link.url, code: link.code, shortUrl: `${domain.baseUrl}/${link.code}` }
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
    links: message.links.map((link) => presentLink(domain, link)),
  }
}

/** A message with one short link per recipient and link, in the order the call named them. */
export function presentMessageWithRecipients(result: MessageWithRecipients, tokens: RecipientTokens) {
  const { message, domain } = result
  const prefixes = message.links.map((link) => `${domain.baseUrl}/${link.code}-`)
  return {
    ...presentMessage(message, domain),
    recipients: result.recipients.map(({ externalId, index }) => {
      const token = tokens.issue(message.id, index)
      return { id: externalId, token, links: prefixes.map((prefix) => prefix + token) }
    }),
  }
}
