import type { Store, UnsubscribeTarget } from '../db/store.js'
import { parseShortPath } from '../links/codes.js'
import type { UnsubscribeTokens } from '../links/tokens.js'
import type { DomainRegistry } from '../tenants/domain-registry.js'
import { recordLinkOptOut } from './record-optouts.js'

/** A verified unsubscribe link: the message it belongs to and the recipient it names. */
export interface UnsubscribeLink {
  target: UnsubscribeTarget
  recipientIdx: number
}

/**
 * Resolves `/u/{code}-{token}` on a host. Null for anything that is not a link this
 * service issued: unknown host or code, a token that fails its check, or an index
 * beyond the message's recipients. Reads the database, never writes it.
 */
export async function resolveUnsubscribeLink(
  services: { domains: DomainRegistry; store: Store; unsubscribeTokens: UnsubscribeTokens },
  host: string | undefined,
  slug: string,
): Promise<UnsubscribeLink | null> {
  const { domains, store, unsubscribeTokens } = services
  const domain = domains.lookup(host)
  const path = parseShortPath(slug)
  if (domain === undefined || path === null || path.token === null) return null
  const target = await store.findUnsubscribeTarget(domain.id, path.code)
  if (target === null) return null
  const recipientIdx = unsubscribeTokens.verify(target.messageId, path.token)
  if (recipientIdx === null || recipientIdx >= target.recipientCount) return null
  return { target, recipientIdx }
}

/**
 * The person confirmed: opts the recipient out for the tenant. Idempotent: a second
 * confirmation changes nothing. Returns false when the recipient does not exist.
 */
export async function confirmUnsubscribe(store: Store, link: UnsubscribeLink): Promise<boolean> {
  return (await recordLinkOptOut(store, link.target, link.recipientIdx, Date.now())) !== null
}
