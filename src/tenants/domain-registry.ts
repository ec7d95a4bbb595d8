import type { Domain, Tenant } from '../db/store.js'

/**
 * Every customer domain, held in memory: the redirect resolves the request's Host
 * here before anything else, and the TLS proxy's certificate question is answered
 * here. Small (one entry per domain), loaded at start and kept current by the code
 * that adds domains, and by the change feed for changes made elsewhere (src/sync/).
 */
export class DomainRegistry {
  private readonly byHost = new Map<string, Domain>()
  private readonly byId = new Map<number, Domain>()
  /** Host names without port: what a certificate is for. */
  private readonly names = new Set<string>()
  /** Tenants' default page languages: what the 404 and expired pages of their hosts speak. */
  private readonly languages = new Map<number, string>()

  constructor(domains: Domain[], tenants: Array<Pick<Tenant, 'id' | 'language'>> = []) {
    for (const domain of domains) this.add(domain)
    for (const tenant of tenants) this.setTenantLanguage(tenant.id, tenant.language)
  }

  setTenantLanguage(tenantId: number, language: string | null): void {
    if (language === null) this.languages.delete(tenantId)
    else this.languages.set(tenantId, language)
  }

  /** The default page language of the domain's tenant; null when it has none. */
  tenantLanguage(domain: Domain): string | null {
    return this.languages.get(domain.tenantId) ?? null
  }

  add(domain: Domain): void {
    this.byHost.set(domain.host, domain)
    this.byId.set(domain.id, domain)
    this.names.add(withoutPort(domain.host))
  }

  /** Replaces every entry with these domains (after the change feed lost track). */
  replaceAll(domains: Domain[]): void {
    this.byHost.clear()
    this.byId.clear()
    this.names.clear()
    for (const domain of domains) this.add(domain)
  }

  get(id: number): Domain | undefined {
    return this.byId.get(id)
  }

  /**
   * The domain for a Host header; `host:port` falls back to `host` when only that is
   * registered, and a fully qualified `host.` (trailing dot) is `host`. Case does not
   * matter.
   */
  lookup(hostHeader: string | undefined): Domain | undefined {
    if (!hostHeader) return undefined
    const host = hostHeader.toLowerCase()
    const domain = this.byHost.get(host)
    if (domain !== undefined) return domain
    const bare = withoutTrailingDot(host)
    const exact = this.byHost.get(bare)
    if (exact !== undefined) return exact
    const colon = bare.lastIndexOf(':')
    return colon > 0 && !bare.endsWith(']') ? this.byHost.get(withoutTrailingDot(bare.slice(0, colon))) : undefined
  }

  /**
   * Whether a host name (no port; case and a trailing dot as `lookup` treats them) is
   * one of the tenants' domains, whatever port the domain was registered with: the
   * question a TLS proxy asks before getting the name a certificate.
   */
  hasHostName(name: string): boolean {
    const lower = withoutTrailingDot(name.toLowerCase())
    // An IPv6 literal arrives bare from a proxy; domains keep it in brackets.
    return this.names.has(lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower)
  }

  forTenant(tenantId: number): Domain[] {
    return [...this.byId.values()].filter((domain) => domain.tenantId === tenantId)
  }
}

/** `name:port` → `name`; `[v6]:port` → `[v6]`. */
function withoutPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.indexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

/** `s.brand.dk.` → `s.brand.dk`; `s.brand.dk.:8080` → `s.brand.dk:8080`. */
function withoutTrailingDot(host: string): string {
  if (host.endsWith('.')) return host.slice(0, -1)
  const colon = host.lastIndexOf(':')
  return colon > 0 && host[colon - 1] === '.' && !host.endsWith(']')
    ? host.slice(0, colon - 1) + host.slice(colon)
    : host
}
