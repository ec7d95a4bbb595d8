import t from 'tap'
import {
  admin,
  bearer,
  createTenant,
  json,
  postMessage,
  startApp,
  stats,
  tap,
  testClock,
  UA,
  withEachBackend,
} from '../helpers.js'

withEachBackend(t, (t) => {
  t.test('an expired link answers 410 with a page, or goes to the domain fallback; its taps still count', async (t) => {
    const clock = testClock()
    const app = await startApp(t, { clock })
    const { key, tenantId, host } = await createTenant(app)
    const expiresAt = new Date(clock.now() + 2000).toISOString()
    const created = await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/sale' }],
      recipients: ['a', 'b'],
      expiresAt,
      clickIdParam: 'sl_cid',
    })
    t.equal(created.statusCode, 201)
    const message = json(created)
    t.equal(message.expiresAt, expiresAt)
    t.equal(json(await app.inject({ url: `/v1/messages/${message.id}`, headers: bearer(key) })).expiresAt, expiresAt)

    const [a, b] = message.recipients.map((r: { links: string[] }) => r.links[0])
    const before = await tap(app, a)
    t.equal(before.statusCode, 302, 'before expiry: the destination')
    t.match(before.headers.location, /^https:\/\/shop\.dk\/sale\?sl_cid=/)

    clock.advance(2000)
    const gone = await tap(app, a)
    t.equal(gone.statusCode, 410, 'expired, no fallback: 410')
    t.match(gone.headers['content-type'], /^text\/html/)
    t.match(gone.body, /This link has expired/)
    t.equal(gone.headers['cache-control'], 'private, max-age=0')
    t.notOk(gone.headers.location)
    t.notOk(gone.headers['set-cookie'], 'no cookie on the 410 page either')

    const set = await app.inject({
      method: 'PATCH',
      url: `/v1/tenants/${tenantId}/domains/${host}`,
      headers: admin,
      payload: { fallbackUrl: 'https://shop.dk/' },
    })
    t.equal(set.statusCode, 200)
    t.same(json(set), { host, tenantId, fallbackUrl: 'https://shop.dk/' })
    const fallback = await tap(app, b)
    t.equal(fallback.statusCode, 302, 'expired with a fallback: 302 to it')
    t.equal(fallback.headers.location, 'https://shop.dk/', 'no click id on the fallback')
    t.equal(fallback.headers['cache-control'], 'private, max-age=0')
    await tap(app, b, { userAgent: UA.whatsapp })

    const figures = await stats(app, key, message.id)
    t.match(
      figures.clicks,
      { total: 3, unique: 2, bots: 0, previews: 1 },
      'expired taps are counted and classified as usual',
    )

    const cleared = await app.inject({
      method: 'PATCH',
      url: `/v1/tenants/${tenantId}/domains/${host}`,
      headers: admin,
      payload: { fallbackUrl: null },
    })
    t.equal(json(cleared).fallbackUrl, null)
    t.equal((await tap(app, b)).statusCode, 410, 'cleared: 410 again')
  })

  t.test('a message without expiresAt never expires, and says so', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    t.equal(message.expiresAt, null)
    t.equal((await tap(app, message.recipients[0].links[0])).statusCode, 302)
  })

  t.test('expiresAt must be a future ISO time; a bad one stores nothing', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const base = { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }
    for (const expiresAt of ['2020-01-01T00:00:00Z', 'tomorrow', 12345, '']) {
      const response = await postMessage(app, key, { ...base, expiresAt })
      t.equal(response.statusCode, 400, JSON.stringify(expiresAt))
      t.match(json(response).error, /^(invalid_expiry|invalid_request)$/)
    }
    t.match(json(await postMessage(app, key, { ...base, expiresAt: '2020-01-01T00:00:00Z' })).message, /in the future/)
    t.same(json(await app.inject({ url: '/v1/messages', headers: bearer(key) })).messages, [], 'nothing was created')

    const expiresAt = new Date(Date.now() + 86_400_000).toISOString()
    const first = json(await postMessage(app, key, { ...base, externalId: 'x', expiresAt }))
    const other = await postMessage(app, key, {
      ...base,
      externalId: 'x',
      expiresAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    })
    t.equal(other.statusCode, 409, 'the same externalId with another expiresAt is a conflict')
    t.match(json(other).message, /expiresAt/)
    const same = await postMessage(app, key, { ...base, externalId: 'x', expiresAt })
    t.equal(same.statusCode, 200)
    t.equal(json(same).id, first.id)
  })

  t.test("PATCH fallbackUrl: validated like destinations; another tenant's host is a 404", async (t) => {
    const app = await startApp(t)
    const one = await createTenant(app, 's.one.dk', 'One')
    const two = await createTenant(app, 's.two.dk', 'Two')
    const patch = (tenantId: string, host: string, payload: unknown) =>
      app.inject({
        method: 'PATCH',
        url: `/v1/tenants/${tenantId}/domains/${host}`,
        headers: admin,
        payload: payload as object,
      })
    for (const fallbackUrl of ['javascript:alert(1)', 'ftp://shop.dk', 'https://user:pw@shop.dk', 'shop']) {
      const response = await patch(one.tenantId, 's.one.dk', { fallbackUrl })
      t.equal(response.statusCode, 400, fallbackUrl)
      t.equal(json(response).error, 'invalid_url')
    }
    t.equal(
      (await patch(one.tenantId, 's.one.dk', { fallbackUrl: 'https://shop.dk', extra: 1 })).statusCode,
      400,
      'unknown field',
    )
    t.equal((await patch(one.tenantId, 's.one.dk', {})).statusCode, 400, 'fallbackUrl is required')
    t.equal(
      (await patch(one.tenantId, 's.two.dk', { fallbackUrl: 'https://shop.dk' })).statusCode,
      404,
      "another tenant's host",
    )
    t.equal((await patch(one.tenantId, 's.none.dk', { fallbackUrl: 'https://shop.dk' })).statusCode, 404)
    t.equal((await patch('ten_nope', 's.one.dk', { fallbackUrl: 'https://shop.dk' })).statusCode, 404)
    const noAuth = await app.inject({
      method: 'PATCH',
      url: `/v1/tenants/${one.tenantId}/domains/s.one.dk`,
      payload: { fallbackUrl: null },
    })
    t.equal(noAuth.statusCode, 401)
    const tenants = json(await app.inject({ url: '/v1/tenants', headers: admin })).tenants
    t.ok(
      tenants.every((tenant: { domains: unknown[] }) => tenant.domains.length === 1),
      'nothing changed',
    )
    t.equal(two.host, 's.two.dk')
  })
})
