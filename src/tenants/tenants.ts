import { ConflictError, type Domain, type PageText, type Store, type Tenant } from '../db/store.js'
import { ApiError, notFound } from '../errors.js'
import { hashApiKey, newApiKey } from './api-keys.js'
import { newPublicId } from '../ids.js'
import type { DomainRegistry } from './domain-registry.js'
import { normalizeDestination } from '../destination.js'
import { requirePageLanguage } from '../pages/languages.js'

export async function createTenant(store: Store, name: string): Promise<Tenant> {
  return store.createTenant(`ten_${newPublicId()}`, name, Date.now())
}

async function requireTenant(store: Store, tenantPublicId: string): Promise<Tenant> {
  const tenant = await store.getTenant(tenantPublicId)
  if (!tenant) throw notFound('tenant')
  return tenant
}

/**
 * A host as stored and matched: lower case, punycode for international names,
 * `:port` kept only when it is not the scheme's default. Throws a 400 for
 * anything that is not a bare host.
 */
export function normalizeHost(input: string, scheme: 'http' | 'https'): string {
  let url: URL
  try {
    url = new URL(`${scheme}://${input}`)
  } catch {
    url = new URL('http://invalid')
  }
  const bare = url.username === '' && url.password === '' && url.pathname === '/' && !url.search && !url.hash
  if (!bare || url.hostname === 'invalid' || /[/?#@\s]/.test(input)) {
    throw new ApiError(
      400,
      'invalid_host',
      `host must be a bare host name such as s.brand.dk, not ${JSON.stringify(input)}`,
    )
  }
  return url.host
}

/** Gives a host to a tenant; a host already claimed by any tenant is a 409. */
export async function addDomain(
  store: Store,
  registry: DomainRegistry,
  tenantPublicId: string,
  hostInput: string,
  scheme: 'http' | 'https' = 'https',
): Promise<Domain> {
  const tenant = await requireTenant(store, tenantPublicId)
  const host = normalizeHost(hostInput, scheme)
  try {
    const domain = await store.addDomain(tenant.id, host, `${scheme}://${host}`, Date.now())
    registry.add(domain)
    return domain
  } catch (err) {
    if (err instanceof ConflictError) throw new ApiError(409, 'host_taken', err.message)
    throw err
  }
}

/** Creates a key and returns it in clear: the only time it is ever shown. */
export async function createApiKey(
  store: Store,
  tenantPublicId: string,
  name: string,
): Promise<{ id: string; key: string }> {
  const tenant = await requireTenant(store, tenantPublicId)
  const id = `key_${newPublicId()}`
  const key = newApiKey()
  await store.createApiKey(tenant.id, id, name, hashApiKey(key), Date.now())
  return { id, key }
}

export interface Bootstrap {
  tenant: Tenant
  domain: Domain
  key: string
}

/**
 * First start with an empty database and no ADMIN_TOKEN: a default tenant, a
 * domain for PUBLIC_URL and a key, so a newcomer can create a message at once.
 * Returns null when there is anything in the database already.
 */
export async function bootstrapDefaultTenant(
  store: Store,
  registry: DomainRegistry,
  publicUrl: URL,
): Promise<Bootstrap | null> {
  if ((await store.countTenants()) > 0) return null
  const tenant = await createTenant(store, 'Default')
  const scheme = publicUrl.protocol === 'https:' ? 'https' : 'http'
  const domain = await addDomain(store, registry, tenant.publicId, publicUrl.host, scheme)
  const { key } = await createApiKey(store, tenant.publicId, 'default')
  return { tenant, domain, key }
}

/**
 * Revokes one of the tenant's API keys; it stops authenticating at once, since every
 * request looks its key up. An unknown key, or one of another tenant, is a 404.
 */
export async function revokeApiKey(store: Store, tenantPublicId: string, keyPublicId: string): Promise<void> {
  const tenant = await requireTenant(store, tenantPublicId)
  if (!(await store.revokeApiKey(tenant.id, keyPublicId, Date.now()))) throw notFound('API key')
}

export interface TenantWithDomains {
  tenant: Tenant
  domains: Domain[]
}

/** Every tenant with its domains, oldest first. */
export async function listTenants(store: Store): Promise<TenantWithDomains[]> {
  const [tenants, domains] = await Promise.all([store.listTenants(), store.listDomains()])
  return tenants.map((tenant) => ({ tenant, domains: domains.filter((domain) => domain.tenantId === tenant.id) }))
}

/**
 * Sets (or, with null, clears) where a domain's expired links send people. Checked like
 * a destination. The registry is updated at once, so the next tap on an expired link
 * uses it. A host the tenant does not have is a 404.
 */
export async function setDomainFallback(
  store: Store,
  registry: DomainRegistry,
  tenantPublicId: string,
  hostInput: string,
  fallbackUrl: string | null,
): Promise<Domain> {
  const tenant = await requireTenant(store, tenantPublicId)
  const url = fallbackUrl === null ? null : normalizeDestination(fallbackUrl, 'fallbackUrl')
  const domain = registry.lookup(hostInput)
  const updated =
    domain && domain.tenantId === tenant.id ? await store.setDomainFallback(tenant.id, domain.host, url) : null
  if (updated === null) throw notFound('domain')
  registry.add(updated)
  return updated
}

/**
 * Sets (or, with null, clears) the language of the tenant's recipients' pages when a
 * message names none. Aliases are stored as their canonical tag. The registry is
 * updated at once, so the next 404 or expired page of the tenant's hosts speaks it.
 */
export async function setTenantLanguage(
  store: Store,
  registry: DomainRegistry,
  tenantPublicId: string,
  language: string | null,
): Promise<Tenant> {
  const tenant = await requireTenant(store, tenantPublicId)
  const canonical = language === null ? null : requirePageLanguage(language, 'language')
  await store.setTenantLanguage(tenant.id, canonical)
  registry.setTenantLanguage(tenant.id, canonical)
  return { ...tenant, language: canonical }
}

/** How long a tenant's own unsubscribe page title and text may be, in characters. */
export const MAX_PAGE_TITLE = 120
export const MAX_PAGE_TEXT = 600

/**
 * Sets the tenant's own title and text of the unsubscribe page in one language, or
 * with null goes back to the catalogue's. Both are plain text, shown escaped; they
 * are trimmed, must not be empty, must fit the limits, and may hold no control
 * characters (a line break only in the text).
 */
export async function setUnsubscribePageText(
  store: Store,
  tenantPublicId: string,
  languageTag: string,
  wording: { title: string; text: string } | null,
): Promise<PageText | null> {
  const tenant = await requireTenant(store, tenantPublicId)
  const language = requirePageLanguage(languageTag, 'language')
  if (wording === null) {
    await store.setPageText(tenant.id, language, null)
    return null
  }
  const title = checkedWording('title', wording.title, MAX_PAGE_TITLE, false)
  const text = checkedWording('text', wording.text, MAX_PAGE_TEXT, true)
  await store.setPageText(tenant.id, language, { title, text })
  return { language, title, text }
}

function checkedWording(field: string, value: string, max: number, lineBreaks: boolean): string {
  const trimmed = value.trim()
  const fix = (what: string) => new ApiError(400, 'invalid_page_text', `${field} ${what}`)
  if (trimmed.length === 0) throw fix('must not be empty')
  if ([...trimmed].length > max) throw fix(`must be at most ${max} characters`)
  // eslint-disable-next-line no-control-regex
  const control = lineBreaks ? /[\u0000-\u0009\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/
  if (control.test(trimmed))
    throw fix(lineBreaks ? 'may hold no control characters but line breaks' : 'must be one line')
  return trimmed
}

/** The tenant's own unsubscribe page wordings, by language. */
export async function unsubscribePageTexts(store: Store, tenantPublicId: string): Promise<PageText[]> {
  const tenant = await requireTenant(store, tenantPublicId)
  return store.pageTexts(tenant.id)
}
