import type { TenantWithDomains } from './tenants.js'

/** The JSON form of a tenant with its domains, as the admin API and the CLI show it. */
export function presentTenant({ tenant, domains }: TenantWithDomains) {
  return {
    id: tenant.publicId,
    name: tenant.name,
    createdAt: new Date(tenant.createdAt).toISOString(),
    language: tenant.language,
    domains: domains.map((domain) => ({ host: domain.host, baseUrl: domain.baseUrl })),
  }
}
