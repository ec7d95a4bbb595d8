import type { Domain } from '../db/store.js'

/**
 * Every customer domain, held in memory: the redirect resolves the request's Host
 * here before anything else. Small (one entry per domain), loaded at start and
 * kept current by the code that adds domains.
 */
export class DomainRegistry {
  private readonly byHost = new Map<string, Domain>()
  private readonly byId = new Map<number, Domain>()

  constructor(domains: Domain[]) {
    for (const domain of domains) this.add(domain)
  }

  add(domain: Domain): void {
    this.byHost.set(domain.host, domain)
    this.byId.set(domain.id, domain)
  }

  get(id: number): Domain | undefined {
    return this.byId.get(id)
  }

  /** The domain for a Host header; `host:port` falls back to `host` when only that is registered. */
  lookup(hostHeader: string | undefined): Domain | undefined {
    if (!hostHeader) return undefined
    const host = hostHeader.toLowerCase()
    const domain = this.byHost.get(host)
    if (domain !== undefined) return domain
    const colon = host.lastIndexOf(':')
    return colon > 0 && !host.endsWith(']') ? this.byHost.get(host.slice(0, colon)) : undefined
  }

  forTenant(tenantId: number): Domain[] {
    return [...this.byId.values()].filter((domain) => domain.tenantId === tenantId)
  }
}
