import t from 'tap'
import { bearer, createTenant, flushClicks, json, postMessage, startApp, tap, withEachBackend } from '../helpers.js'

type App = Awaited<ReturnType<typeof startApp>>

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/** A message with `recipients` recipients of whom the first `clickers` tap once. */
async function send(app: App, key: string, fields: object, recipients: number, clickers: number) {
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ids(recipients, 'r'), ...fields }),
  )
  for (const recipient of message.recipients.slice(0, clickers)) await tap(app, recipient.links[0])
  return message
}

const get = async (app: App, key: string, url: string) => {
  await flushClicks(app)
  return app.inject({ url, headers: bearer(key) })
}

const CAMPAIGN_BAND = { ctrFrom: 0.089, ctrTo: 0.145, source: 'published SMS marketing benchmarks, campaigns' }

withEachBackend(t, (t) => {
  t.test("a campaign's messages summed, with the campaign band and the position in it", async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await send(app, key, { kind: 'campaign', campaign: 'spring' }, 10, 1)
    const second = await send(app, key, { kind: 'campaign', campaign: 'spring' }, 10, 1)
    await send(app, key, { kind: 'campaign', campaign: 'autumn' }, 10, 9)
    let response = await get(app, key, '/v1/campaigns/spring/stats')
    t.equal(response.statusCode, 200)
    t.same(json(response), {
      campaign: 'spring',
      kind: 'campaign',
      messages: 2,
      recipients: 20,
      delivered: null,
      uniqueClickers: 2,
      ctr: 0.1,
      unsubscribes: 0,
      unsubscribesBySource: { link: 0, reply: 0, import: 0, support: 0 },
      unsubscribeRate: 0,
      benchmark: CAMPAIGN_BAND,
      position: 'within',
    })

    // Delivery reports shrink the second message's reach to 4: (1 + 1) ÷ (10 + 4).
    await app.inject({
      method: 'POST',
      url: `/v1/messages/${second.id}/deliveries`,
      headers: bearer(key),
      payload: { reports: ids(10, 'r').map((recipient, i) => ({ recipient, status: i < 4 ? 'delivered' : 'failed' })) },
    })
    response = await get(app, key, '/v1/campaigns/spring/stats')
    t.has(json(response), { delivered: 4, ctr: 0.1429, position: 'within' })
    t.has(json(await get(app, key, '/v1/campaigns/autumn/stats')), { ctr: 0.9, position: 'above' })
  })

  t.test('below the band, and campaigns of mixed kinds have no band', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await send(app, key, { kind: 'campaign', campaign: 'quiet' }, 20, 1)
    t.has(json(await get(app, key, '/v1/campaigns/quiet/stats')), {
      ctr: 0.05,
      position: 'below',
      benchmark: CAMPAIGN_BAND,
    })
    await send(app, key, { kind: 'flow', campaign: 'mixed' }, 10, 1)
    await send(app, key, { kind: 'campaign', campaign: 'mixed' }, 10, 1)
    t.has(json(await get(app, key, '/v1/campaigns/mixed/stats')), {
      kind: null,
      ctr: 0.1,
      benchmark: null,
      position: null,
    })
  })

  t.test('stats by kind: flows against the flow band, transactional texts without one, a time range', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const started = new Date().toISOString()
    await send(app, key, { kind: 'flow' }, 10, 1)
    await send(app, key, { kind: 'flow', campaign: 'welcome' }, 10, 2)
    await send(app, key, { kind: 'transactional' }, 4, 3)
    await send(app, key, { kind: 'campaign' }, 10, 5)
    const flows = json(await get(app, key, '/v1/stats?kind=flow'))
    t.same(flows, {
      kind: 'flow',
      from: null,
      to: null,
      messages: 2,
      recipients: 20,
      delivered: null,
      uniqueClickers: 3,
      ctr: 0.15,
      unsubscribes: 0,
      unsubscribesBySource: { link: 0, reply: 0, import: 0, support: 0 },
      unsubscribeRate: 0,
      benchmark: { ctrFrom: 0.109, ctrTo: 0.149, source: 'published SMS marketing benchmarks, automated flows' },
      position: 'above',
    })
    t.has(json(await get(app, key, '/v1/stats?kind=transactional')), {
      messages: 1,
      ctr: 0.75,
      benchmark: null,
      position: null,
    })
    const future = new Date(Date.now() + 3_600_000).toISOString()
    t.has(json(await get(app, key, `/v1/stats?kind=flow&from=${future}`)), {
      messages: 0,
      recipients: 0,
      ctr: null,
      position: null,
    })
    t.has(json(await get(app, key, `/v1/stats?kind=flow&from=${started}&to=${future}`)), {
      messages: 2,
      from: started,
      to: future,
    })
  })

  t.test('bad roll-up requests are 400s', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    for (const query of ['', '?kind=newsletter', '?kind=flow&from=yesterday', '?kind=flow&extra=1']) {
      const response = await get(app, key, `/v1/stats${query}`)
      t.equal(response.statusCode, 400, query)
      t.equal(json(response).error, 'invalid_request', query)
    }
    const backwards = await get(app, key, '/v1/stats?kind=flow&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')
    t.equal(backwards.statusCode, 400)
    t.equal(json(backwards).error, 'invalid_range')
  })

  t.test("roll-ups see only the caller's messages: another tenant's campaign is a 404", async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await send(app, key, { kind: 'campaign', campaign: 'spring', variant: 'A' }, 10, 1)
    const other = await createTenant(app, 's.other.dk', 'Other')
    for (const url of ['/v1/campaigns/spring/stats', '/v1/campaigns/spring/variants']) {
      const response = await get(app, other.key, url)
      t.equal(response.statusCode, 404, url)
      t.same(json(response), { error: 'not_found', message: 'campaign not found' }, url)
    }
    t.has(json(await get(app, other.key, '/v1/stats?kind=campaign')), { messages: 0, recipients: 0, uniqueClickers: 0 })
    t.equal((await app.inject({ url: '/v1/stats?kind=campaign' })).statusCode, 401)
  })
})
