import type { RouteOptions } from 'fastify'
import t from 'tap'
import {
  admin,
  bearer,
  createTenant,
  json,
  postMessage,
  startApp,
  confirmUnsubscribe,
  withEachBackend,
} from '../helpers.js'

withEachBackend(t, (t) => {
  /**
   * Every tenant route (collected from Fastify, so a new one cannot be forgotten) called
   * with tenant B's key and tenant A's ids: a 404, as if A's things did not exist, never a
   * 403 that would confirm them, nothing of A's in any answer, and nothing of A's changed.
   */
  t.test("another tenant's ids are 404 on every tenant route, and nothing leaks", async (t) => {
    const routes: RouteOptions[] = []
    const app = await startApp(t, { onRoute: (route) => routes.push(route) })
    const a = await createTenant(app, 's.a-shop.dk', 'A')
    const b = await createTenant(app, 's.b-shop.dk', 'B')
    const message = json(
      await postMessage(app, a.key, {
        externalId: 'a-secret-send',
        campaign: 'a-campaign',
        links: [{ url: 'https://a-shop.dk/secret' }],
        recipients: ['a-recipient'],
        unsubscribe: true,
      }),
    )
    const webhook = json(
      await app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(a.key),
        payload: { url: 'https://hooks.a-shop.dk/in', events: ['click'] },
      }),
    )
    await confirmUnsubscribe(app, message.recipients[0].unsubscribeUrl)
    const aSecrets = [
      message.id,
      webhook.id,
      'a-secret-send',
      'a-campaign',
      'a-shop.dk/secret',
      'a-recipient',
      message.links[0].code,
    ]

    /** The id of A's that a route's parameter names. Unknown route: the test must be taught it. */
    const idFor = (url: string): string | null => {
      if (url.startsWith('/v1/messages/:id')) return message.id
      if (url.startsWith('/v1/webhooks/:id')) return webhook.id
      if (url.startsWith('/v1/recipients/:recipientId')) return 'a-recipient'
      if (url.startsWith('/v1/optouts/:recipient')) return 'a-recipient'
      if (url.startsWith('/v1/campaigns/:campaign')) return 'a-campaign'
      if (!url.includes(':')) return null
      return undefined as never
    }

    let checked = 0
    for (const route of routes) {
      if (!route.url.startsWith('/v1/') || route.url.startsWith('/v1/tenants')) continue
      for (const method of [route.method].flat()) {
        if (method === 'HEAD') continue
        const name = `${method} ${route.url}`
        const id = idFor(route.url)
        t.not(id, undefined, `${name}: the isolation test knows this route's parameter`)
        const examples = (route.schema?.body as { examples?: unknown[] } | undefined)?.examples
        const response = await app.inject({
          method: method as 'GET',
          url: id === null ? route.url : route.url.replace(/:(id|recipientId|recipient|campaign)\b/, id!),
          headers: bearer(b.key),
          ...(examples ? { payload: examples[0] as object } : {}),
        })
        checked++
        for (const secret of aSecrets)
          t.notOk(response.body.includes(secret), `${name}: nothing of A's (${secret}) in the answer`)
        if (id !== null) {
          t.equal(response.statusCode, 404, `${name} with A's id`)
          t.equal(json(response).error, 'not_found', name)
        } else {
          t.ok(response.statusCode < 500 && response.statusCode !== 403, `${name}: ${response.statusCode}`)
        }
      }
    }
    t.ok(checked >= 10, `${checked} tenant routes walked`)

    const foreignDomain = await postMessage(app, b.key, {
      domain: a.host,
      links: [{ url: 'https://b.dk/' }],
      recipients: ['x'],
    })
    t.equal(foreignDomain.statusCode, 400, "B cannot create links on A's domain")
    t.equal(json(foreignDomain).error, 'unknown_domain')
    const sameExternalId = await postMessage(app, b.key, {
      externalId: 'a-secret-send',
      links: [{ url: 'https://b.dk/' }],
      recipients: ['x'],
    })
    t.equal(sameExternalId.statusCode, 201, "an externalId is per tenant: B's is a new message, not A's")
    t.not(json(sameExternalId).id, message.id)

    // Admin routes name tenants explicitly: A's key id under B's tenant is unknown there.
    const keyA = json(
      await app.inject({
        method: 'POST',
        url: `/v1/tenants/${a.tenantId}/api-keys`,
        headers: admin,
        payload: { name: 'x' },
      }),
    )
    const crossRevoke = await app.inject({
      method: 'DELETE',
      url: `/v1/tenants/${b.tenantId}/api-keys/${keyA.id}`,
      headers: admin,
    })
    t.equal(crossRevoke.statusCode, 404)
    t.equal(
      (await app.inject({ url: '/v1/messages', headers: bearer(keyA.key) })).statusCode,
      200,
      "A's key still works",
    )
    for (const url of ['/v1/tenants', `/v1/tenants/${a.tenantId}/allowed-hosts`]) {
      t.equal(
        (await app.inject({ url, headers: bearer(b.key) })).statusCode,
        401,
        `${url}: a tenant key is not an admin token`,
      )
    }
    const after = json(await app.inject({ url: `/v1/messages/${message.id}/stats`, headers: bearer(a.key) }))
    t.equal(after.recipients, 1, "A's message still has only its own recipient")
    t.equal(after.delivered, null, "B's delivery reports did not touch A's message")
    const hooks = json(await app.inject({ url: '/v1/webhooks', headers: bearer(a.key) }))
    t.same(
      hooks.webhooks.map((w: { id: string }) => w.id),
      [webhook.id],
      "B's DELETE did not remove A's webhook",
    )
    const optOuts = json(await app.inject({ url: '/v1/optouts', headers: bearer(a.key) }))
    t.same(
      optOuts.optOuts.map((o: { recipient: string }) => o.recipient),
      ['a-recipient'],
      "B's erasure did not touch A's recipient",
    )
  })
})
