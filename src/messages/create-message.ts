import type { Config } from '../config.js'
import {
  CodeTaken,
  UNSUBSCRIBE_SPAN,
  type Domain,
  type Message,
  type MessageKind,
  type MessageOptions,
  type NewMessage,
  type RecipientIndex,
  type Store,
  type UtmParams,
} from '../db/store.js'
import { ApiError, notFound } from '../errors.js'
import { newCode } from '../links/codes.js'
import type { LinkCache } from '../links/link-cache.js'
import type { AllowedHosts } from '../tenants/allowed-hosts.js'
import type { DomainRegistry } from '../tenants/domain-registry.js'
import { newPublicId } from '../ids.js'
import { normalizeDestination } from '../destination.js'
import { parseMessageText } from './message-text.js'
import { requirePageLanguage } from '../pages/languages.js'
import type { SuppressionKeys } from '../recipients/suppression.js'
import type { MessageResult, RecipientList } from './recipient-list.js'

/** Links per message, whether listed or found in a text. */
export const MAX_LINKS = 10

/** What a create call asks for; its recipients come as a RecipientList. */
export interface CreateMessageInput {
  domain?: string
  externalId?: string
  kind?: MessageKind
  campaign?: string
  variant?: string
  /** Exactly one of links and text. */
  links?: Array<{ url: string }>
  text?: string
  stripScheme?: boolean
  utm?: UtmParams
  clickIdParam?: string
  /** Give each recipient an unsubscribe link. */
  unsubscribe?: boolean
  /** ISO time after which the links go to the domain's fallback URL (or a 410 page). */
  expiresAt?: string
  /** The language of the recipients' pages (a tag or alias of PAGE_LANGUAGES). */
  language?: string
}

/** What a create call asks for besides its recipients, checked and normalised. */
interface MessageContent extends MessageOptions {
  urls: string[]
  /** Unsubscribe links: asked for with `"unsubscribe": true` or `{unsubscribe}` in the text. */
  unsubscribe: boolean
  expiresAt: number | null
  language: string | null
}

/** The services creating a message uses. */
export interface MessageServices {
  store: Store
  domains: DomainRegistry
  /** Forgets new codes that an earlier probe left in the negative cache. */
  cache: LinkCache
  allowedHosts: AllowedHosts
  suppressionKeys: SuppressionKeys
  /** The clock a new message's sending time and expiry check read. */
  config: Pick<Config, 'now'>
}

/** The services adding recipients uses. */
type RecipientServices = Pick<MessageServices, 'store' | 'domains' | 'suppressionKeys'>

const CODE_ATTEMPTS = 5

function chooseDomain(domains: DomainRegistry, tenantId: number, requested: string | undefined): Domain {
  const owned = domains.forTenant(tenantId)
  if (requested === undefined) {
    if (owned.length === 1) return owned[0]!
    throw new ApiError(
      400,
      'domain_required',
      owned.length === 0
        ? 'this tenant has no domain yet: an admin adds one with POST /v1/tenants/:tenantId/domains'
        : `name the domain to use: one of ${owned.map((d) => d.host).join(', ')}`,
    )
  }
  const domain = domains.lookup(requested)
  if (!domain || domain.tenantId !== tenantId) {
    throw new ApiError(400, 'unknown_domain', `domain ${requested} is not one of this tenant's domains`)
  }
  return domain
}

/**
 * Calls `create` with a new random short code for each of the message's links. Codes
 * are not looked up first: the store refuses one that is taken (CodeTaken, storing
 * nothing), and `create` is called again with new ones.
 */
async function withFreshCodes<T>(domainId: number, count: number, create: (codes: string[]) => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    try {
      return await create(Array.from({ length: count }, newCode))
    } catch (err) {
      if (!(err instanceof CodeTaken)) throw err
    }
  }
  throw new Error(`no free short code on domain ${domainId} after ${CODE_ATTEMPTS} attempts`)
}

async function freshUnsubscribeCode(store: Store, domainId: number): Promise<string> {
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const code = newCode()
    if (!(await store.unsubscribeCodeExists(domainId, code))) return code
  }
  throw new Error(`no free unsubscribe code on domain ${domainId} after ${CODE_ATTEMPTS} attempts`)
}

/**
 * Creates a message with its links and recipients. A message whose externalId the
 * tenant already used is not created again: the existing one is returned with the
 * call's recipients (added where new), or a 409 naming the field that differs.
 */
export async function createMessage(
  services: MessageServices,
  tenantId: number,
  input: CreateMessageInput,
  list: RecipientList,
): Promise<MessageResult> {
  const now = services.config.now()
  const content = messageContent(input, now)
  await services.allowedHosts.check(tenantId, content.urls)
  if (input.externalId !== undefined) {
    const existing = await services.store.findMessageByExternalId(tenantId, input.externalId)
    if (existing) return repost(services, existing, input, content, list)
  }
  const domain = chooseDomain(services.domains, tenantId, input.domain)
  const { urls, unsubscribe, expiresAt, language, ...options } = content
  const newMessage: Omit<NewMessage, 'links'> = {
    publicId: `msg_${newPublicId()}`,
    tenantId,
    domainId: domain.id,
    externalId: input.externalId ?? null,
    kind: input.kind ?? 'campaign',
    campaign: input.campaign ?? null,
    variant: input.variant ?? null,
    createdAt: now,
    ...options,
    unsubscribeCode: unsubscribe ? await freshUnsubscribeCode(services.store, domain.id) : null,
    expiresAt,
    language,
  }
  // The first slice of recipients is stored with the message: one write for a transactional message.
  const first = await list.first()
  const { message, created, recipients } = await withFreshCodes(domain.id, urls.length, (codes) =>
    services.store.createMessage(
      { ...newMessage, links: urls.map((url, i) => ({ publicId: `lnk_${newPublicId()}`, code: codes[i]!, url })) },
      first,
    ),
  )
  // Another call with the same externalId won the race.
  if (!created) return repost(services, message, input, content, list)
  // A code probed before it existed may sit in the negative cache.
  for (const link of message.links) services.cache.forget(domain.id, link.code)
  return withRecipients(services, message, list, true, recipients)
}

/** utm values in one fixed key order, so equal settings compare equal. */
function canonicalUtm(utm: UtmParams | undefined): UtmParams | null {
  if (utm === undefined) return null
  const { source, medium, campaign, term, content } = utm
  return JSON.parse(JSON.stringify({ source, medium, campaign, term, content })) as UtmParams
}

/**
 * Checks what a call asks for, before anything is stored: either `links` or a `text`
 * whose URLs become the links, and the tracking options.
 */
function messageContent(input: CreateMessageInput, now: number): MessageContent {
  if ((input.links === undefined) === (input.text === undefined)) {
    throw new ApiError(
      400,
      'invalid_request',
      input.links === undefined
        ? 'send either "links" (the destinations) or "text" (an SMS body whose URLs become short links)'
        : 'send "links" or "text", not both: with a text, its URLs are the links',
    )
  }
  if (input.stripScheme === true && input.text === undefined) {
    throw new ApiError(
      400,
      'invalid_request',
      '"stripScheme" applies to short links inside a "text"; this message has none',
    )
  }
  let urls: string[]
  let text: MessageOptions['text'] = null
  if (input.text !== undefined) {
    const parsed = parseMessageText(input.text, MAX_LINKS)
    if (parsed.hasUnsubscribe && input.unsubscribe === false) {
      throw new ApiError(
        400,
        'invalid_request',
        'the text has {unsubscribe} but "unsubscribe" is false: drop one of them ({unsubscribe} turns unsubscribe links on)',
      )
    }
    if (parsed.urls.length === 0) {
      throw new ApiError(
        400,
        'no_links',
        'the text holds no URL: write at least one, e.g. https://shop.dk/sale or shop.dk/sale',
      )
    }
    urls = parsed.urls
    text = parsed.text
  } else {
    urls = input.links!.map((link, i) => normalizeDestination(link.url, `links[${i}].url`))
  }
  const clickIdParam = input.clickIdParam ?? null
  if (clickIdParam !== null) {
    if (clickIdParam.toLowerCase().startsWith('utm_')) {
      throw new ApiError(
        400,
        'invalid_request',
        'clickIdParam must not start with utm_: those names are for the "utm" values',
      )
    }
    const clash = urls.find((url) => new URL(url).searchParams.has(clickIdParam))
    if (clash !== undefined) {
      throw new ApiError(
        400,
        'invalid_request',
        `clickIdParam ${clickIdParam} is already a query parameter of ${clash}: choose another name`,
      )
    }
  }
  return {
    urls,
    text,
    expiresAt: expiryOf(input.expiresAt, now),
    language: input.language === undefined ? null : requirePageLanguage(input.language, 'language'),
    stripScheme: input.stripScheme ?? false,
    utm: canonicalUtm(input.utm),
    clickIdParam,
    unsubscribe: input.unsubscribe === true || text?.spans.some((span) => span.link === UNSUBSCRIBE_SPAN) === true,
  }
}

/** `expiresAt` as milliseconds; it must be a real time in the future. */
function expiryOf(input: string | undefined, now: number): number | null {
  if (input === undefined) return null
  const at = Date.parse(input)
  if (!Number.isFinite(at)) {
    throw new ApiError(400, 'invalid_expiry', 'expiresAt must be an ISO 8601 time such as 2026-12-31T23:59:59Z')
  }
  if (at <= now) throw new ApiError(400, 'invalid_expiry', 'expiresAt must be in the future')
  return at
}

/** The same externalId again: the same message, provided the call describes the same send. */
async function repost(
  services: RecipientServices,
  message: Message,
  input: CreateMessageInput,
  content: MessageContent,
  list: RecipientList,
): Promise<MessageResult> {
  const { urls } = content
  const differs: string[] = []
  if (message.links.length !== urls.length || message.links.some((link, i) => link.url !== urls[i]))
    differs.push('links')
  if ((message.text?.body ?? null) !== (content.text?.body ?? null)) differs.push('text')
  if (message.stripScheme !== content.stripScheme) differs.push('stripScheme')
  if (JSON.stringify(message.utm) !== JSON.stringify(content.utm)) differs.push('utm')
  if (message.clickIdParam !== content.clickIdParam) differs.push('clickIdParam')
  if (message.expiresAt !== content.expiresAt) differs.push('expiresAt')
  if (message.language !== content.language) differs.push('language')
  if (message.kind !== (input.kind ?? 'campaign')) differs.push('kind')
  if (message.campaign !== (input.campaign ?? null)) differs.push('campaign')
  if (message.variant !== (input.variant ?? null)) differs.push('variant')
  if ((message.unsubscribeCode !== null) !== content.unsubscribe) differs.push('unsubscribe')
  if (input.domain !== undefined && services.domains.lookup(input.domain)?.id !== message.domainId)
    differs.push('domain')
  if (differs.length > 0) {
    throw new ApiError(
      409,
      'external_id_conflict',
      `message ${message.publicId} already has externalId ${JSON.stringify(input.externalId)} ` +
        `with other ${differs.join(', ')}: use a new externalId for a different send`,
    )
  }
  return withRecipients(services, message, list, false)
}

/**
 * The message with the call's recipients stored: `stored` of them were stored with
 * the message (list.first); the list stores the rest.
 */
async function withRecipients(
  services: RecipientServices,
  message: Message,
  list: RecipientList,
  created: boolean,
  stored: RecipientIndex[] = [],
): Promise<MessageResult> {
  const recipientCount = await list.store(message, stored)
  return { message: { ...message, recipientCount }, domain: domainOf(services.domains, message), created }
}

/** Adds recipients to a message; ids already present keep their tokens. */
export async function addRecipients(
  services: RecipientServices,
  tenantId: number,
  messagePublicId: string,
  list: RecipientList,
): Promise<MessageResult> {
  const message = await services.store.getMessage(tenantId, messagePublicId)
  if (!message) throw notFound('message')
  return withRecipients(services, message, list, false)
}

export function domainOf(domains: DomainRegistry, message: Message): Domain {
  const domain = domains.get(message.domainId)
  if (!domain) throw new Error(`domain ${message.domainId} of message ${message.publicId} is not loaded`)
  return domain
}
