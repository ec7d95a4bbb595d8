import t from 'tap'
import { ConflictError } from '../../src/db/store.js'
import { forEachBackend } from '../fixtures/store-backends.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('a setting keeps its first value', async (t) => {
    const key = seed.unique('setting_')
    t.equal(await store.getSetting(key), null)
    t.equal(await store.setSettingOnce(key, 'first'), 'first')
    t.equal(await store.setSettingOnce(key, 'second'), 'first')
    t.equal(await store.getSetting(key), 'first')
  })

  t.test('concurrent setSettingOnce calls all get the one value kept', async (t) => {
    const key = seed.unique('race_')
    const kept = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((value) => store.setSettingOnce(key, value)))
    t.equal(new Set(kept).size, 1)
    t.equal(await store.getSetting(key), kept[0])
  })

  t.test('checkWritable commits a write', async (t) => {
    await t.resolves(store.checkWritable())
  })

  t.test('tenants are found by public id and listed oldest first', async (t) => {
    const before = await store.countTenants()
    const a = await store.createTenant(seed.unique('ten_'), 'Alpha', 5)
    const b = await store.createTenant(seed.unique('ten_'), 'Beta', 6)
    t.same(a, { id: a.id, publicId: a.publicId, name: 'Alpha', createdAt: 5, language: null })
    t.same(await store.getTenant(b.publicId), b)
    t.equal(await store.getTenant('ten_nobody'), null)
    t.equal(await store.countTenants(), before + 2)
    const listed = await store.listTenants()
    t.same(listed.slice(-2), [a, b])
  })

  t.test('a host belongs to one tenant; fallbacks are set by the owner only', async (t) => {
    const one = await seed.tenant()
    const other = await seed.tenant()
    await t.rejects(
      store.addDomain(other.tenant.id, one.domain.host, 'https://x', 2),
      ConflictError,
      'a taken host is a conflict',
    )
    t.same(one.domain, {
      id: one.domain.id,
      tenantId: one.tenant.id,
      host: one.domain.host,
      baseUrl: `https://${one.domain.host}`,
      fallbackUrl: null,
    })
    t.equal(await store.setDomainFallback(other.tenant.id, one.domain.host, 'https://evil.example'), null)
    const set = await store.setDomainFallback(one.tenant.id, one.domain.host, 'https://shop.dk/expired')
    t.equal(set?.fallbackUrl, 'https://shop.dk/expired')
    const domains = await store.listDomains()
    t.same(
      domains.find((d) => d.host === one.domain.host),
      { ...one.domain, fallbackUrl: 'https://shop.dk/expired' },
    )
    t.ok(domains.findIndex((d) => d.id === one.domain.id) < domains.findIndex((d) => d.id === other.domain.id))
    t.equal((await store.setDomainFallback(one.tenant.id, one.domain.host, null))?.fallbackUrl, null)
  })

  t.test('an API key authenticates until revoked; revoking twice is allowed', async (t) => {
    const { tenant } = await seed.tenant()
    const hash = Buffer.from(seed.unique('hash-').padEnd(32, '.'))
    const keyId = seed.unique('key_')
    await store.createApiKey(tenant.id, keyId, 'prod', hash, 7)
    const owner = await store.findApiKey(hash)
    t.equal(owner?.tenantId, tenant.id)
    t.type(owner?.keyId, 'number')
    t.equal(await store.findApiKey(Buffer.from('no such hash')), null)
    const other = await seed.tenant()
    t.equal(await store.revokeApiKey(other.tenant.id, keyId, 8), false, "another tenant's key is not found")
    t.equal(await store.revokeApiKey(tenant.id, keyId, 8), true)
    t.equal(await store.findApiKey(hash), null)
    t.equal(await store.revokeApiKey(tenant.id, keyId, 9), true)
    t.equal(await store.revokeApiKey(tenant.id, 'key_nothing', 9), false)
  })

  t.test('a dashboard session holds until ended or its key is revoked', async (t) => {
    const { tenant } = await seed.tenant()
    const hash = Buffer.from(seed.unique('hash-').padEnd(32, '.'))
    const keyPublicId = seed.unique('key_')
    await store.createApiKey(tenant.id, keyPublicId, 'dash', hash, 7)
    const { keyId } = (await store.findApiKey(hash))!
    const [s1, s2, s3] = [seed.unique('sess-'), seed.unique('sess-'), seed.unique('sess-')]
    t.equal(await store.dashboardSessionLive(s1, keyId), true)
    await store.endDashboardSession(s1, 2_000, 1_000)
    t.equal(await store.dashboardSessionLive(s1, keyId), false, 'signed out')
    t.equal(await store.dashboardSessionLive(s2, keyId), true, 'another session of the key still holds')
    await store.endDashboardSession(s1, 2_000, 1_500)
    t.equal(await store.dashboardSessionLive(s1, keyId), false, 'ending twice is allowed')
    // Ending a session past its expiry stores nothing; ended sessions past theirs are forgotten.
    await store.endDashboardSession(s3, 1_000, 2_500)
    t.equal(
      await store.dashboardSessionLive(s3, keyId),
      true,
      'an expired cookie is refused by its signature, not here',
    )
    t.equal(await store.dashboardSessionLive(s1, keyId), true, 'forgotten once past its expiry')
    await store.revokeApiKey(tenant.id, keyPublicId, 3_000)
    t.equal(await store.dashboardSessionLive(s2, keyId), false, 'the key was revoked')
    t.equal(await store.dashboardSessionLive(seed.unique('sess-'), 987_654_321), false, 'no such key')
  })

  t.test('the allow-list is replaced whole and read sorted', async (t) => {
    const { tenant } = await seed.tenant()
    t.same(await store.allowedHosts(tenant.id), [])
    await store.setAllowedHosts(tenant.id, ['shop.dk', '*.z.dk', 'a.dk', 'shop.dk'])
    t.same(await store.allowedHosts(tenant.id), ['*.z.dk', 'a.dk', 'shop.dk'])
    await store.setAllowedHosts(tenant.id, ['b.dk'])
    t.same(await store.allowedHosts(tenant.id), ['b.dk'])
    await store.setAllowedHosts(tenant.id, [])
    t.same(await store.allowedHosts(tenant.id), [])
  })

  t.test("a tenant's page language is set, read with the tenant, and cleared", async (t) => {
    const { tenant } = await seed.tenant()
    t.equal(tenant.language, null)
    await store.setTenantLanguage(tenant.id, 'nb')
    t.equal((await store.getTenant(tenant.publicId))!.language, 'nb')
    t.equal((await store.listTenants()).find((listed) => listed.id === tenant.id)!.language, 'nb')
    await store.setTenantLanguage(tenant.id, null)
    t.equal((await store.getTenant(tenant.publicId))!.language, null)
  })

  t.test("a tenant's own page texts: one per language, replaced, removed, never another tenant's", async (t) => {
    const { tenant } = await seed.tenant()
    const other = await seed.tenant()
    t.same(await store.pageTexts(tenant.id), [])
    await store.setPageText(tenant.id, 'sv', { title: 'Avsluta', text: 'Tryck på knappen.' })
    await store.setPageText(tenant.id, 'da', { title: 'Afmeld', text: 'Tryk på knappen.' })
    await store.setPageText(tenant.id, 'da', { title: 'Afmeld SMS', text: '<b>Tryk</b>\npå knappen.' })
    await store.setPageText(other.tenant.id, 'da', { title: 'Andet', text: 'Andet.' })
    t.same(await store.pageTexts(tenant.id), [
      { language: 'da', title: 'Afmeld SMS', text: '<b>Tryk</b>\npå knappen.' },
      { language: 'sv', title: 'Avsluta', text: 'Tryck på knappen.' },
    ])
    await store.setPageText(tenant.id, 'sv', null)
    await store.setPageText(tenant.id, 'de', null)
    t.same(
      (await store.pageTexts(tenant.id)).map((text) => text.language),
      ['da'],
    )
    t.same(
      (await store.pageTexts(other.tenant.id)).map((text) => text.title),
      ['Andet'],
    )
  })
})
