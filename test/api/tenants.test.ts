import t from 'tap'
import { admin, json, startApp, withEachBackend } from '../helpers.js'

withEachBackend(t, (t) => {
  t.test('admin endpoints need ADMIN_TOKEN', async (t) => {
    const app = await startApp(t)
    const none = await app.inject({ method: 'POST', url: '/v1/tenants', payload: { name: 'Shop' } })
    t.equal(none.statusCode, 401)
    t.equal(json(none).error, 'unauthorized')
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/tenants',
      headers: { authorization: 'Bearer not-the-admin-token' },
      payload: { name: 'Shop' },
    })
    t.equal(wrong.statusCode, 401)
  })

  t.test('without ADMIN_TOKEN the admin endpoints are off, and say how to turn them on', async (t) => {
    const app = await startApp(t, { env: { ADMIN_TOKEN: '' } })
    const response = await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'Shop' } })
    t.equal(response.statusCode, 403)
    t.match(json(response), { error: 'admin_disabled', message: /ADMIN_TOKEN/ })
  })

  t.test('tenant, domain and key', async (t) => {
    const app = await startApp(t)
    const created = await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'Shop' } })
    t.equal(created.statusCode, 201)
    const tenant = json(created)
    t.match(tenant, { id: /^ten_/, name: 'Shop' })

    const domain = await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/domains`,
      headers: admin,
      payload: { host: 'S.Shop.DK' },
    })
    t.equal(domain.statusCode, 201)
    t.same(json(domain), { host: 's.shop.dk', tenantId: tenant.id }, 'host stored in lower case')

    const key = await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/api-keys`,
      headers: admin,
      payload: { name: 'prod' },
    })
    t.equal(key.statusCode, 201)
    t.match(json(key), { id: /^key_/, key: /^sl_[0-9A-Za-z]{40}$/ })

    const list = await app.inject({ url: '/v1/messages', headers: { authorization: `Bearer ${json(key).key}` } })
    t.equal(list.statusCode, 200, 'the new key works')
  })

  t.test('a host belongs to one tenant', async (t) => {
    const app = await startApp(t)
    const a = json(await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'A' } }))
    const b = json(await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'B' } }))
    const claim = (tenantId: string, host: string) =>
      app.inject({ method: 'POST', url: `/v1/tenants/${tenantId}/domains`, headers: admin, payload: { host } })
    t.equal((await claim(a.id, 's.brand.dk')).statusCode, 201)
    const second = await claim(b.id, 's.brand.dk')
    t.equal(second.statusCode, 409)
    t.equal(json(second).error, 'host_taken')
    t.equal((await claim(a.id, 's.brand.dk')).statusCode, 409, 'even by its owner')
  })

  t.test('bad domain input is refused with a reason', async (t) => {
    const app = await startApp(t)
    const tenant = json(
      await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'A' } }),
    )
    for (const host of ['https://s.brand.dk', 's.brand.dk/path', 'user@s.brand.dk', 'two words', '']) {
      const response = await app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenant.id}/domains`,
        headers: admin,
        payload: { host },
      })
      t.equal(response.statusCode, 400, host)
      t.match(json(response).error, /invalid_host|invalid_request/, host)
    }
    const unknownTenant = await app.inject({
      method: 'POST',
      url: '/v1/tenants/ten_nope/domains',
      headers: admin,
      payload: { host: 's.other.dk' },
    })
    t.equal(unknownTenant.statusCode, 404)
    const keyForNobody = await app.inject({
      method: 'POST',
      url: '/v1/tenants/ten_nope/api-keys',
      headers: admin,
      payload: { name: 'x' },
    })
    t.equal(keyForNobody.statusCode, 404)
    const noName = await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: '' } })
    t.equal(noName.statusCode, 400)
    const extra = await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'A', x: 1 } })
    t.equal(extra.statusCode, 400, 'unknown fields are refused, not dropped')
  })

  t.test('an international host is stored as punycode', async (t) => {
    const app = await startApp(t)
    const tenant = json(
      await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'Ø' } }),
    )
    const response = await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/domains`,
      headers: admin,
      payload: { host: 's.smørrebrød.dk' },
    })
    t.equal(json(response).host, 's.xn--smrrebrd-64af.dk')
  })
})
