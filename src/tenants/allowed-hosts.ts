import type { Store } from '../db/store.js'
import { ApiError, notFound } from '../errors.js'

/** Patterns in one tenant's allow-list; each one is a line an admin reads, so a short list. */
export const MAX_ALLOWED_HOSTS = 100

/** One tenant's destination rule, compiled for lookups: exact hosts and `*.` suffixes. */
export class AllowList {
  private readonly exact = new Set<string>()
  private readonly below = new Set<string>()

  constructor(readonly patterns: string[]) {
    for (const pattern of patterns) {
      if (pattern.startsWith('*.')) this.below.add(pattern.slice(2))
      else this.exact.add(pattern)
    }
  }

  /** Whether a destination host (punycode, lower case, as URL gives it) may be linked to. */
  allows(hostname: string): boolean {
    if (this.patterns.length === 0 || this.exact.has(hostname)) return true
    // `*.shop.dk` covers a.shop.dk and a.b.shop.dk, not shop.dk itself.
    for (let dot = hostname.indexOf('.'); dot !== -1; dot = hostname.indexOf('.', dot + 1)) {
      if (this.below.has(hostname.slice(dot + 1))) return true
    }
    return false
  }
}

const ANYTHING = new AllowList([])

/**
 * Normalises an allow-list entry: `shop.dk` or `*.shop.dk`, international names as
 * punycode, lower case, no scheme, port or path. Throws a 400 naming the entry.
 */
export function normalizeHostPattern(input: string, index: number): string {
  const wildcard = input.startsWith('*.')
  const host = wildcard ? input.slice(2) : input
  let hostname = ''
  try {
    const url = new URL(`https://${host}`)
    const bare =
      url.username === '' && url.password === '' && url.port === '' && url.pathname === '/' && !url.search && !url.hash
    if (bare && !/[/?#@\\\s*]/.test(host)) hostname = url.hostname
  } catch {
    // hostname stays empty: refused below
  }
  if (!hostname.includes('.') || hostname.startsWith('.') || hostname.endsWith('.') || hostname.startsWith('[')) {
    throw new ApiError(
      400,
      'invalid_host',
      `hosts[${index}] must be a host name such as shop.dk or *.shop.dk, not ${JSON.stringify(input)}`,
    )
  }
  return wildcard ? `*.${hostname}` : hostname
}

/**
 * Every tenant's allow-list, held in memory after its first use: creating a message
 * asks once per call. The list changes through setAllowedHosts below, and a change
 * made by another instance arrives through the change feed (src/sync/).
 */
export class AllowedHosts {
  private readonly byTenant = new Map<number, AllowList>()

  constructor(private readonly store: Store) {}

  async forTenant(tenantId: number): Promise<AllowList> {
    let list = this.byTenant.get(tenantId)
    if (list === undefined) {
      const patterns = await this.store.allowedHosts(tenantId)
      list = patterns.length === 0 ? ANYTHING : new AllowList(patterns)
      this.byTenant.set(tenantId, list)
    }
    return list
  }

  /** Refuses, with a 400 naming the first one, destinations whose host the tenant does not allow. */
  async check(tenantId: number, urls: string[]): Promise<void> {
    const list = await this.forTenant(tenantId)
    for (const url of urls) {
      const host = new URL(url).hostname
      if (!list.allows(host)) {
        throw new ApiError(
          400,
          'destination_not_allowed',
          `${host} is not on this tenant's list of allowed destination hosts (${list.patterns.join(', ')}); ` +
            'an admin changes it with PUT /v1/tenants/:tenantId/allowed-hosts',
        )
      }
    }
  }

  /** Drops a tenant's cached list (changed elsewhere): the next use reads it again. */
  forget(tenantId: number): void {
    this.byTenant.delete(tenantId)
  }

  clear(): void {
    this.byTenant.clear()
  }

  async replace(tenantId: number, patterns: string[]): Promise<AllowList> {
    await this.store.setAllowedHosts(tenantId, patterns)
    const list = patterns.length === 0 ? ANYTHING : new AllowList(patterns)
    this.byTenant.set(tenantId, list)
    return list
  }
}

/** Replaces a tenant's allow-list (admin); an empty list allows any destination again. */
export async function setAllowedHosts(
  store: Store,
  allowedHosts: AllowedHosts,
  tenantPublicId: string,
  hosts: string[],
): Promise<{ hosts: string[] }> {
  const tenant = await store.getTenant(tenantPublicId)
  if (!tenant) throw notFound('tenant')
  const patterns = [...new Set(hosts.map((host, i) => normalizeHostPattern(host, i)))].sort()
  return { hosts: (await allowedHosts.replace(tenant.id, patterns)).patterns }
}

/** A tenant's allow-list (admin); empty when any destination is allowed. */
export async function getAllowedHosts(
  store: Store,
  allowedHosts: AllowedHosts,
  tenantPublicId: string,
): Promise<{ hosts: string[] }> {
  const tenant = await store.getTenant(tenantPublicId)
  if (!tenant) throw notFound('tenant')
  return { hosts: (await allowedHosts.forTenant(tenant.id)).patterns }
}
