import t from 'tap'
import { admin, bearer, createTenant, json, startApp, withEachBackend } from '../helpers.js'

const revoke = (tenantId: string, keyId: string, headers: Record<string, string> = admin) => ({
  method: 'DELETE' as const,
  url: `/v1/tenants/${tenantId}/api-keys/${keyId}`,
  headers,
})

async function newKey(app: Awaited<ReturnType<typeof startApp>>, tenantId: string, name: string) {
  return json(
    await app.inject({ method: 'POST', url: `/v1/tenants/${tenantId}/api-keys`, headers: admin, payload: { name } }),
  )
}

withEachBackend(t, (t) => {
  t.test("a revoked key stops working at once; the tenant's other keys go on", async (t) => {
    const app = await startApp(t)
    const { tenantId, key } = await createTenant(app)
    const second = await newKey(app, tenantId, 'second')
    t.equal((await app.inject({ url: '/v1/messages', headers: bearer(second.key) })).statusCode, 200)

    const response = await app.inject(revoke(tenantId, second.id))
    t.equal(response.statusCode, 204)
    t.equal(response.body, '')

    const refused = await app.inject({ url: '/v1/messages', headers: bearer(second.key) })
    t.equal(refused.statusCode, 401)
    t.equal(json(refused).error, 'unauthorized')
    t.equal(
      (await app.inject({ url: '/v1/messages', headers: bearer(key) })).statusCode,
      200,
      'the first key still works',
    )

    t.equal((await app.inject(revoke(tenantId, second.id))).statusCode, 204, 'revoking again changes nothing')
    t.equal((await app.inject({ url: '/v1/messages', headers: bearer(second.key) })).statusCode, 401)
  })

  t.test("an unknown tenant or key, or another tenant's key, is a 404 and revokes nothing", async (t) => {
    const app = await startApp(t)
    const a = await createTenant(app, 's.a.dk', 'A')
    const b = await createTenant(app, 's.b.dk', 'B')
    const bKey = await newKey(app, b.tenantId, 'b-prod')

    for (const [tenantId, keyId, why] of [
      ['ten_nope', bKey.id, 'unknown tenant'],
      [b.tenantId, 'key_nope', 'unknown key'],
      [a.tenantId, bKey.id, "another tenant's key"],
    ]) {
      const response = await app.inject(revoke(tenantId!, keyId!))
      t.equal(response.statusCode, 404, why)
      t.equal(json(response).error, 'not_found', why)
    }
    t.equal(
      (await app.inject({ url: '/v1/messages', headers: bearer(bKey.key) })).statusCode,
      200,
      "B's key still works",
    )
  })

  t.test('revoking needs the admin token', async (t) => {
    const app = await startApp(t)
    const { tenantId, key } = await createTenant(app)
    const keys = await newKey(app, tenantId, 'x')
    t.equal((await app.inject(revoke(tenantId, keys.id, {}))).statusCode, 401)
    t.equal(
      (await app.inject(revoke(tenantId, keys.id, bearer(key)))).statusCode,
      401,
      "a tenant's API key is not the admin token",
    )
    t.equal((await app.inject({ url: '/v1/messages', headers: bearer(keys.key) })).statusCode, 200)
  })

  t.test('GET /v1/tenants lists tenants with their domains', async (t) => {
    const app = await startApp(t)
    t.same(json(await app.inject({ url: '/v1/tenants', headers: admin })), { tenants: [] })
    const a = await createTenant(app, 's.a.dk', 'A')
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${a.tenantId}/domains`,
      headers: admin,
      payload: { host: 'go.a.dk', scheme: 'http' },
    })
    const b = await createTenant(app, 's.b.dk', 'B')
    const response = await app.inject({ url: '/v1/tenants', headers: admin })
    t.equal(response.statusCode, 200)
    t.match(json(response).tenants, [
      {
        id: a.tenantId,
        name: 'A',
        createdAt: /^\d{4}-\d\d-\d\dT/,
        domains: [
          { host: 's.a.dk', baseUrl: 'https://s.a.dk' },
          { host: 'go.a.dk', baseUrl: 'http://go.a.dk' },
        ],
      },
      { id: b.tenantId, name: 'B', domains: [{ host: 's.b.dk', baseUrl: 'https://s.b.dk' }] },
    ])
    t.equal(json(response).tenants.length, 2)
    t.equal((await app.inject({ url: '/v1/tenants', headers: bearer(a.key) })).statusCode, 401)
  })
})
