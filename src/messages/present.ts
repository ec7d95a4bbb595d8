import type { Domain, Link, Message } from '../db/store.js'
import type { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
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
    unsubscribe: message.unsubscribeCode !== null,
    createdAt: new Date(message.createdAt).toISOString(),
    links: message.links.map((link) => presentLink(domain, link)),
  }
}

/** The path of a recipient's unsubscribe page, after the domain's base URL. */
export function unsubscribePath(code: string, token: string): string {
  return `/u/${code}-${token}`
}

/**
 * A message with one short link per recipient and link, in the order the call named
 * them. Opted-out recipients keep their links (the sender's bookkeeping stays whole)
 * but carry `optedOut: true`: the sender must not text them.
 */
export function presentMessageWithRecipients(
  result: MessageWithRecipients,
  tokens: RecipientTokens,
  unsubscribeTokens: UnsubscribeTokens,
) {
  const { message, domain } = result
  const prefixes = message.links.map((link) => `${domain.baseUrl}/${link.code}-`)
  const unsubscribeCode = message.unsubscribeCode
  return {
    ...presentMessage(message, domain),
    recipients: result.recipients.map(({ externalId, index }) => {
      const token = tokens.issue(message.id, index)
      return {
        id: externalId,
        token,
        links: prefixes.map((prefix) => prefix + token),
        ...(unsubscribeCode === null
          ? {}
          : { unsubscribeUrl: domain.baseUrl + unsubscribePath(unsubscribeCode, unsubscribeTokens.issue(message.id, index)) }),
        optedOut: result.optedOut.has(externalId),
      }
    }),
  }
}
