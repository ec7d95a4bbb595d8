import type { FastifyInstance } from 'fastify'

/**
 * A tenant with the domain s.bench.dk and one API key, made through the admin API with
 * inject(); `headers` carry the admin token (and a Host, where the routes need one).
 * Returns the key.
 */
export async function injectTenant(app: FastifyInstance, headers: Record<string, string>): Promise<string> {
  const tenant = (await app.inject({ method: 'POST', url: '/v1/tenants', headers, payload: { name: 'Bench' } })).json()
  await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant.id}/domains`,
    headers,
    payload: { host: 's.bench.dk' },
  })
  const created = await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant.id}/api-keys`,
    headers,
    payload: { name: 'bench' },
  })
  return (created.json() as { key: string }).key
}
