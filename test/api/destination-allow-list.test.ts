import t from 'tap'
import { admin, bearer, createTenant, json, postMessage, startApp, tap } from '../helpers.js'

const setHosts = (app: Awaited<ReturnType<typeof startApp>>, tenantId: string, hosts: unknown) =>
  app.inject({ method: 'PUT', url: `/v1/tenants/${tenantId}/allowed-hosts`, headers: admin, payload: { hosts } })

t.test('with an allow-list, links to other hosts are refused and nothing is stored', async (t) => {
  const app = await startApp(t)
  const { tenantId, key } = await createTenant(app)

  const empty = await app.inject({ url: `/v1/tenants/${tenantId}/allowed-hosts`, headers: admin })
  t.equal(empty.statusCode, 200)
  t.same(json(empty), { hosts: [] }, 'no list: anything goes')
  t.equal(
    (await postMessage(app, key, { links: [{ url: 'https://anywhere.example/x' }], recipients: ['a'] })).statusCode,
    201,
  )

  const set = await setHosts(app, tenantId, ['Shop.DK', '*.shop.dk', 'smørrebrød.dk', 'shop.dk'])
  t.equal(set.statusCode, 200)
  t.same(
    json(set),
    { hosts: ['*.shop.dk', 'shop.dk', 'xn--smrrebrd-64af.dk'] },
    'lower case, punycode, sorted, no repeats',
  )
  t.same(json(await app.inject({ url: `/v1/tenants/${tenantId}/allowed-hosts`, headers: admin })), json(set))

  for (const url of [
    'https://shop.dk/sale',
    'https://www.shop.dk/x',
    'https://a.b.shop.dk/',
    'https://SMØRREBRØD.dk/menu',
  ]) {
    const ok = await postMessage(app, key, { links: [{ url }], recipients: ['a'] })
    t.equal(ok.statusCode, 201, url)
  }
  const before = json(await app.inject({ url: '/v1/messages?limit=200', headers: bearer(key) })).messages.length
  for (const url of [
    'https://evil.example/login',
    'https://shop.dk.evil.example/',
    'https://notshop.dk/',
    'https://xn--shop-9qa.dk/',
  ]) {
    const refused = await postMessage(app, key, { links: [{ url: 'https://shop.dk/' }, { url }], recipients: ['a'] })
    t.equal(refused.statusCode, 400, url)
    t.match(json(refused), { error: 'destination_not_allowed', message: /allowed-hosts/ }, url)
  }
  const fromText = await postMessage(app, key, {
    text: 'Sale at shop.dk/sale and login at evil.example.com/x',
    recipients: ['a'],
  })
  t.equal(fromText.statusCode, 400)
  t.equal(json(fromText).error, 'destination_not_allowed', 'URLs found in texts are checked too')
  const after = json(await app.inject({ url: '/v1/messages?limit=200', headers: bearer(key) })).messages.length
  t.equal(after, before, 'refused calls stored no message')

  t.equal((await setHosts(app, tenantId, [])).statusCode, 200, 'an empty list allows anything again')
  t.equal(
    (await postMessage(app, key, { links: [{ url: 'https://evil.example/login' }], recipients: ['a'] })).statusCode,
    201,
  )
})

t.test('links made before the list still redirect; the list survives a restart', async (t) => {
  const { tempDatabasePath } = await import('../helpers.js')
  const databasePath = tempDatabasePath(t)
  let app = await startApp(t, { databasePath })
  const { tenantId, key } = await createTenant(app)
  const made = json(await postMessage(app, key, { links: [{ url: 'https://old.example/x' }], recipients: ['a'] }))
  await setHosts(app, tenantId, ['shop.dk'])
  const tapped = await tap(app, made.recipients[0].links[0])
  t.equal(tapped.statusCode, 302)
  await app.close()
  app = await startApp(t, { databasePath })
  t.same(json(await app.inject({ url: `/v1/tenants/${tenantId}/allowed-hosts`, headers: admin })), {
    hosts: ['shop.dk'],
  })
  t.equal(
    (await postMessage(app, key, { links: [{ url: 'https://old.example/x' }], recipients: ['b'] })).statusCode,
    400,
  )
})

t.test("one tenant's list does not apply to another", async (t) => {
  const app = await startApp(t)
  const a = await createTenant(app, 's.a.dk', 'A')
  const b = await createTenant(app, 's.b.dk', 'B')
  await setHosts(app, a.tenantId, ['a.dk'])
  t.equal((await postMessage(app, a.key, { links: [{ url: 'https://b.dk/' }], recipients: ['x'] })).statusCode, 400)
  t.equal((await postMessage(app, b.key, { links: [{ url: 'https://b.dk/' }], recipients: ['x'] })).statusCode, 201)
})

t.test('bad allow-list input is refused and changes nothing', async (t) => {
  const app = await startApp(t)
  const { tenantId } = await createTenant(app)
  await setHosts(app, tenantId, ['shop.dk'])
  const bad: unknown[] = [
    ['https://shop.dk'],
    ['shop.dk/path'],
    ['shop.dk:8080'],
    ['user@shop.dk'],
    ['localhost'],
    ['*'],
    ['*.'],
    ['a.*.shop.dk'],
    ['two words.dk'],
    [''],
    [7],
    'shop.dk',
    Array.from({ length: 101 }, (_, i) => `h${i}.dk`),
  ]
  for (const hosts of bad) {
    const response = await setHosts(app, tenantId, hosts)
    t.equal(response.statusCode, 400, JSON.stringify(hosts).slice(0, 60))
    t.match(json(response).error, /^(invalid_host|invalid_request)$/)
  }
  const extra = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenantId}/allowed-hosts`,
    headers: admin,
    payload: { hosts: [], other: 1 },
  })
  t.equal(extra.statusCode, 400, 'unknown fields are refused')
  t.same(json(await app.inject({ url: `/v1/tenants/${tenantId}/allowed-hosts`, headers: admin })), {
    hosts: ['shop.dk'],
  })
  t.equal((await setHosts(app, 'ten_nope', ['shop.dk'])).statusCode, 404)
  t.equal((await app.inject({ url: '/v1/tenants/ten_nope/allowed-hosts', headers: admin })).statusCode, 404)
  const noAdmin = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenantId}/allowed-hosts`,
    payload: { hosts: [] },
  })
  t.equal(noAdmin.statusCode, 401)
})

t.test('international destination hosts are stored as punycode and checked like any other', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const made = json(
    await postMessage(app, key, { links: [{ url: 'https://smørrebrød.dk/æble?q=ø' }], recipients: ['a'] }),
  )
  t.equal(made.links[0].url, 'https://xn--smrrebrd-64af.dk/%C3%A6ble?q=%C3%B8')
  const tapped = await tap(app, made.recipients[0].links[0])
  t.equal(tapped.headers.location, 'https://xn--smrrebrd-64af.dk/%C3%A6ble?q=%C3%B8', 'the Location header is ASCII')
  const text = json(await postMessage(app, key, { text: 'Se menuen: https://smørrebrød.dk/menu', recipients: ['a'] }))
  t.equal(text.links[0].url, 'https://xn--smrrebrd-64af.dk/menu')
  for (const url of [
    'https://xn--/x',
    'https://ex%61mple..dk/',
    'https://./x',
    'https://-.dk',
    'https://dk./',
    `https://${'a'.repeat(64)}.dk/`,
  ]) {
    const response = await postMessage(app, key, { links: [{ url }], recipients: ['a'] })
    t.equal(response.statusCode, 400, url)
    t.equal(json(response).error, 'invalid_url', url)
  }
  for (const url of [
    'https://shop.dk./x',
    'https://my_shop.example.dk/',
    'http://192.0.2.1/x',
    'http://[2001:db8::1]/x',
  ]) {
    t.equal((await postMessage(app, key, { links: [{ url }], recipients: ['a'] })).statusCode, 201, url)
  }
})
