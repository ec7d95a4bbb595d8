import t from 'tap'
import { decodeBase62 } from '../../src/base62.js'
import { admin, bearer, createTenant, json, postMessage, startApp, tap, withEachBackend } from '../helpers.js'

const body = {
  domain: 's.shop.dk',
  externalId: 'bf-2026-A',
  kind: 'campaign',
  campaign: 'black-friday',
  variant: 'A',
  links: [{ url: 'https://shop.dk/sale?x=1' }, { url: 'https://shop.dk/terms' }],
  recipients: ['cust-1', 'cust-2', 'cust-3'],
}

withEachBackend(t, (t) => {
  t.test('a message gets one short link per recipient and link, on the tenant domain', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const response = await postMessage(app, key, body)
    t.equal(response.statusCode, 201)
    const message = json(response)
    t.match(message, {
      id: /^msg_/,
      externalId: 'bf-2026-A',
      kind: 'campaign',
      campaign: 'black-friday',
      variant: 'A',
      domain: 's.shop.dk',
      recipientCount: 3,
    })
    t.equal(message.links.length, 2)
    for (const link of message.links) {
      t.match(link.code, /^[0-9A-Za-z]{6}$/)
      t.equal(link.shortUrl, `https://s.shop.dk/${link.code}`)
    }
    t.same(
      message.links.map((l: { url: string }) => l.url),
      ['https://shop.dk/sale?x=1', 'https://shop.dk/terms'],
    )
    t.same(
      message.recipients.map((r: { id: string }) => r.id),
      ['cust-1', 'cust-2', 'cust-3'],
    )
    const tokens = new Set<string>()
    for (const recipient of message.recipients) {
      t.match(recipient.token, /^[0-9A-Za-z]{4,}$/)
      tokens.add(recipient.token)
      t.same(recipient.links, [
        `https://s.shop.dk/${message.links[0].code}-${recipient.token}`,
        `https://s.shop.dk/${message.links[1].code}-${recipient.token}`,
      ])
      for (const link of recipient.links) t.ok(new URL(link).pathname.length - 1 <= 14, `${link} is short`)
    }
    t.equal(tokens.size, 3, 'every recipient has its own token')
  })

  t.test('kind defaults to campaign, domain to the only one, and the optional fields to null', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const response = await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] })
    t.equal(response.statusCode, 201)
    t.match(json(response), { kind: 'campaign', domain: 's.shop.dk', externalId: null, campaign: null, variant: null })
    t.equal(json(response).links[0].url, 'https://shop.dk/', 'destinations are stored normalised')
  })

  t.test('a tenant with several domains must name one of its own', async (t) => {
    const app = await startApp(t)
    const { key, tenantId } = await createTenant(app, 's.shop.dk')
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenantId}/domains`,
      headers: admin,
      payload: { host: 'go.shop.dk' },
    })
    await createTenant(app, 's.other.dk', 'Other')

    const unnamed = await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] })
    t.equal(unnamed.statusCode, 400)
    t.match(json(unnamed), { error: 'domain_required', message: /s\.shop\.dk, go\.shop\.dk/ })

    const foreign = await postMessage(app, key, {
      domain: 's.other.dk',
      links: [{ url: 'https://shop.dk' }],
      recipients: ['a'],
    })
    t.equal(foreign.statusCode, 400)
    t.equal(json(foreign).error, 'unknown_domain')

    const named = await postMessage(app, key, {
      domain: 'go.shop.dk',
      links: [{ url: 'https://shop.dk' }],
      recipients: ['a'],
    })
    t.equal(named.statusCode, 201)
    t.match(json(named).recipients[0].links[0], /^https:\/\/go\.shop\.dk\//)
  })

  t.test('a tenant without a domain is told how to get one', async (t) => {
    const app = await startApp(t)
    const tenant = json(
      await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name: 'X' } }),
    )
    const { key } = json(
      await app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenant.id}/api-keys`,
        headers: admin,
        payload: { name: 'k' },
      }),
    )
    const response = await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] })
    t.equal(response.statusCode, 400)
    t.match(json(response), { error: 'domain_required', message: /\/domains/ })
  })

  t.test('re-posting an externalId returns the existing message, not a twin', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const first = json(await postMessage(app, key, body))
    const again = await postMessage(app, key, body)
    t.equal(again.statusCode, 200)
    const second = json(again)
    t.equal(second.id, first.id)
    t.same(second.recipients, first.recipients, 'same links for the same recipients')
    t.same(second.links, first.links)

    const more = json(await postMessage(app, key, { ...body, recipients: ['cust-3', 'cust-4'] }))
    t.equal(more.id, first.id)
    t.equal(more.recipientCount, 4, 'new recipients are added to the existing message')
    t.same(more.recipients[0], first.recipients[2])

    const conflict = await postMessage(app, key, { ...body, links: [{ url: 'https://shop.dk/other' }] })
    t.equal(conflict.statusCode, 409)
    t.equal(json(conflict).error, 'external_id_conflict')

    const otherVariant = await postMessage(app, key, { ...body, variant: 'B' })
    t.equal(otherVariant.statusCode, 409)
    t.match(json(otherVariant).message, /other variant/)

    const list = json(await app.inject({ url: '/v1/messages', headers: bearer(key) }))
    t.equal(list.messages.length, 1, 'still one message')
  })

  t.test('a re-post without domain works after the tenant gained a second domain', async (t) => {
    const app = await startApp(t)
    const { key, tenantId } = await createTenant(app)
    const { domain, ...withoutDomain } = body
    const first = json(await postMessage(app, key, withoutDomain))
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenantId}/domains`,
      headers: admin,
      payload: { host: 'go.shop.dk' },
    })
    const again = await postMessage(app, key, withoutDomain)
    t.equal(again.statusCode, 200)
    t.equal(json(again).id, first.id)
    t.equal(json(again).domain, domain)
    const elsewhere = await postMessage(app, key, { ...body, domain: 'go.shop.dk' })
    t.equal(elsewhere.statusCode, 409)
    t.match(json(elsewhere).message, /other domain/)
  })

  t.test('another tenant may use the same externalId', async (t) => {
    const app = await startApp(t)
    const a = await createTenant(app, 's.a.dk', 'A')
    const b = await createTenant(app, 's.b.dk', 'B')
    const first = await postMessage(app, a.key, {
      externalId: 'x',
      links: [{ url: 'https://a.dk' }],
      recipients: ['1'],
    })
    const second = await postMessage(app, b.key, {
      externalId: 'x',
      links: [{ url: 'https://b.dk' }],
      recipients: ['1'],
    })
    t.equal(first.statusCode, 201)
    t.equal(second.statusCode, 201)
    t.not(json(first).id, json(second).id)
  })

  t.test('recipients are added in further calls and keep their links', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { ...body, externalId: undefined, recipients: ['a', 'b', 'a'] }))
    t.equal(message.recipientCount, 2, 'a repeated id in one call is one recipient')
    t.equal(message.recipients.length, 2)

    const response = await app.inject({
      method: 'POST',
      url: `/v1/messages/${message.id}/recipients`,
      headers: bearer(key),
      payload: { recipients: ['c', 'a'] },
    })
    t.equal(response.statusCode, 200)
    const added = json(response)
    t.equal(added.id, message.id)
    t.equal(added.recipientCount, 3)
    t.same(
      added.recipients.map((r: { id: string }) => r.id),
      ['c', 'a'],
    )
    t.same(added.recipients[1], message.recipients[0], 'a known recipient keeps its token')
    t.equal(added.links.length, 2)

    const missing = await app.inject({
      method: 'POST',
      url: '/v1/messages/msg_nope/recipients',
      headers: bearer(key),
      payload: { recipients: ['x'] },
    })
    t.equal(missing.statusCode, 404)
  })

  t.test(
    'a large call mixing new and known recipients keeps the known tokens and numbers the new ones without gaps',
    async (t) => {
      const app = await startApp(t)
      const { key } = await createTenant(app)
      const known = Array.from({ length: 1_000 }, (_, i) => `known-${i}`)
      const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: known }))
      const tokenOf = new Map<string, string>(
        message.recipients.map((r: { id: string; token: string }) => [r.id, r.token]),
      )

      // 600 new ones, then 600 alternating new and known, then 400 known: whole runs of new
      // recipients and runs that hold known ones in one call.
      const fresh = (from: number, count: number) => Array.from({ length: count }, (_, i) => `new-${from + i}`)
      const mixed = Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? `new-${600 + i / 2}` : known[i]!))
      const recipients = [...fresh(0, 600), ...mixed, ...known.slice(600)]
      const add = () =>
        app.inject({
          method: 'POST',
          url: `/v1/messages/${message.id}/recipients`,
          headers: bearer(key),
          payload: { recipients },
        })
      const added = json(await add())
      t.equal(added.recipientCount, 1_900)
      t.same(
        added.recipients.map((r: { id: string }) => r.id),
        recipients,
        'in the order of the call',
      )
      for (const r of added.recipients as Array<{ id: string; token: string }>) {
        if (tokenOf.has(r.id) && tokenOf.get(r.id) !== r.token) t.fail(`${r.id} changed its token`)
        if (!tokenOf.has(r.id)) tokenOf.set(r.id, r.token)
      }
      // A token is base62(index) and 3 MAC characters: every place 0…1,899 taken once.
      const places = [...tokenOf.values()]
        .map((token) => decodeBase62(token, 0, token.length - 3))
        .sort((a, b) => a - b)
      t.same(
        places,
        Array.from({ length: 1_900 }, (_, i) => i),
        'one place per recipient, no gaps',
      )
      t.same(json(await add()).recipients, added.recipients, 'the same call again changes nothing')
    },
  )

  t.test('100,000 recipients in one call', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const earlier = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/earlier' }], recipients: ['a'] }),
    )
    const recipients = Array.from({ length: 100_000 }, (_, i) => `customer-${i}`)
    // Other work goes on while the call is answered: timers fire, and a tap on an
    // earlier message is redirected before the large answer is complete.
    let timerRuns = 0
    const timer = setInterval(() => timerRuns++, 1)
    const finished: string[] = []
    const creating = postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients }).then((response) => {
      finished.push('create')
      return response
    })
    await new Promise((resolve) => setImmediate(resolve))
    const tapped = await tap(app, earlier.recipients[0].links[0])
    finished.push('tap')
    const response = await creating
    clearInterval(timer)
    t.equal(tapped.statusCode, 302)
    t.same(finished, ['tap', 'create'], 'the tap is answered while the message is being created')
    t.ok(timerRuns >= 20, `a timer kept firing during the call (${timerRuns} times)`)
    t.equal(response.statusCode, 201)
    const message = json(response)
    t.equal(message.recipients.length, 100_000)
    t.equal(message.recipientCount, 100_000)
    const last = message.recipients[99_999]
    t.equal(last.id, 'customer-99999')
    t.ok(new URL(last.links[0]).pathname.length - 1 <= 14)

    const tooMany = await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/x' }],
      recipients: [...recipients, 'one-more'],
    })
    t.equal(tooMany.statusCode, 400)
    t.match(json(tooMany).message, /100000/)
  })

  t.test('bad input gets a 400 that says what to fix, and stores nothing', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const cases: Array<[object, string, RegExp]> = [
      [{ links: [{ url: 'javascript:alert(1)' }], recipients: ['a'] }, 'invalid_url', /http/],
      [{ links: [{ url: 'data:text/html,hi' }], recipients: ['a'] }, 'invalid_url', /http/],
      [{ links: [{ url: 'https://user:pw@shop.dk' }], recipients: ['a'] }, 'invalid_url', /password/],
      [{ links: [{ url: 'shop' }], recipients: ['a'] }, 'invalid_url', /absolute/],
      [{ links: [{ url: 'https://shop' }], recipients: ['a'] }, 'invalid_url', /host/],
      [{ links: [{ url: `https://shop.dk/${'x'.repeat(2100)}` }], recipients: ['a'] }, 'invalid_url', /2048/],
      [{ links: [], recipients: ['a'] }, 'invalid_request', /links/],
      [{ links: [{ url: 'https://shop.dk' }] }, 'invalid_request', /recipients/],
      [{ links: [{ url: 'https://shop.dk' }], recipients: [''] }, 'invalid_request', /recipients/],
      [{ links: [{ url: 'https://shop.dk' }], recipients: [7] }, 'invalid_request', /recipients/],
      [{ links: [{ url: 'https://shop.dk' }], recipients: ['a'], kind: 'blast' }, 'invalid_request', /kind/],
      [{ links: [{ url: 'https://shop.dk' }], recipients: ['a'], surprise: true }, 'invalid_request', /additional/],
      [{ links: [{ url: 'https://shop.dk', extra: 1 }], recipients: ['a'] }, 'invalid_request', /additional/],
      [
        { links: [{ url: 'https://shop.dk' }], recipients: ['a'], externalId: ' padded ' },
        'invalid_request',
        /externalId/,
      ],
    ]
    for (const [payload, error, message] of cases) {
      const response = await postMessage(app, key, payload)
      t.equal(response.statusCode, 400, JSON.stringify(payload).slice(0, 80))
      t.match(json(response), { error, message }, JSON.stringify(payload).slice(0, 80))
    }
    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      payload: '{"links": [',
    })
    t.equal(malformed.statusCode, 400)
    t.equal(json(malformed).error, 'invalid_json')
    const list = json(await app.inject({ url: '/v1/messages', headers: bearer(key) }))
    t.same(list.messages, [], 'nothing was stored')
  })

  t.test('the API speaks JSON: other bodies get a 415', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const response = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...bearer(key), 'content-type': 'text/plain' },
      payload: 'https://shop.dk',
    })
    t.equal(response.statusCode, 415)
    t.equal(json(response).error, 'unsupported_media_type')
  })

  t.test('the tenant API needs a valid key', async (t) => {
    const app = await startApp(t)
    const none = await app.inject({ url: '/v1/messages' })
    t.equal(none.statusCode, 401)
    t.match(json(none), { error: 'unauthorized', message: /Authorization: Bearer/ })
    const wrong = await app.inject({ url: '/v1/messages', headers: bearer('sl_not-a-key') })
    t.equal(wrong.statusCode, 401)
    const adminIsNotATenant = await app.inject({ url: '/v1/messages', headers: admin })
    t.equal(adminIsNotATenant.statusCode, 401)
  })
})
