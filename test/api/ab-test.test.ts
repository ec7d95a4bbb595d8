import t from 'tap'
import { bearer, createTenant, flushClicks, json, postMessage, startApp, tap, withEachBackend } from '../helpers.js'

type App = Awaited<ReturnType<typeof startApp>>

async function variant(app: App, key: string, label: string | undefined, recipients: number, clickers: number) {
  const message = json(
    await postMessage(app, key, {
      campaign: 'spring',
      variant: label,
      links: [{ url: 'https://shop.dk' }],
      recipients: Array.from({ length: recipients }, (_, i) => `${label}-${i}`),
    }),
  )
  for (const recipient of message.recipients.slice(0, clickers)) await tap(app, recipient.links[0])
}

async function variants(app: App, key: string) {
  await flushClicks(app)
  const response = await app.inject({ url: '/v1/campaigns/spring/variants', headers: bearer(key) })
  if (response.statusCode !== 200) throw new Error(`variants: ${response.statusCode} ${response.body}`)
  return json(response)
}

withEachBackend(t, (t) => {
  t.test('a significant difference names the winner', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await variant(app, key, 'A', 200, 10)
    await variant(app, key, 'B', 200, 40)
    const result = await variants(app, key)
    t.equal(result.best, 'B')
    t.equal(result.winner, 'B')
    t.equal(result.significanceLevel, 0.05)
    t.same(result.variants[1], {
      variant: 'B',
      messages: 1,
      recipients: 200,
      delivered: null,
      uniqueClickers: 40,
      ctr: 0.2,
      pValue: null,
    })
    t.has(result.variants[0], { variant: 'A', uniqueClickers: 10, ctr: 0.05 })
    t.ok(result.variants[0].pValue < 0.0001, `p = ${result.variants[0].pValue}`)
  })

  t.test('an insignificant difference has a best variant but no winner', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await variant(app, key, 'A', 20, 2)
    await variant(app, key, 'B', 20, 3)
    await variant(app, key, undefined, 5, 5)
    const result = await variants(app, key)
    t.equal(result.best, 'B')
    t.equal(result.winner, null)
    t.same(
      result.variants.map((v: { variant: string }) => v.variant),
      ['A', 'B'],
      'messages without a variant are not in the test',
    )
    t.ok(Math.abs(result.variants[0].pValue - 0.6326) < 0.001, `p = ${result.variants[0].pValue}`)
  })

  t.test('AB_SIGNIFICANCE sets the bar', async (t) => {
    const app = await startApp(t, { env: { AB_SIGNIFICANCE: '0.7' } })
    const { key } = await createTenant(app)
    await variant(app, key, 'A', 20, 2)
    await variant(app, key, 'B', 20, 3)
    const result = await variants(app, key)
    t.equal(result.significanceLevel, 0.7)
    t.equal(result.winner, 'B', 'p 0.63 passes a bar of 0.7')
  })

  t.test('with one variant there is nothing to test', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await variant(app, key, 'A', 10, 5)
    const result = await variants(app, key)
    t.equal(result.winner, null)
    t.same(result.variants, [
      { variant: 'A', messages: 1, recipients: 10, delivered: null, uniqueClickers: 5, ctr: 0.5, pValue: null },
    ])
  })

  t.test('a campaign without variant labels answers with no variants; an unknown one is a 404', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await variant(app, key, undefined, 10, 5)
    t.same((await variants(app, key)).variants, [])
    const unknown = await app.inject({ url: '/v1/campaigns/nope/variants', headers: bearer(key) })
    t.equal(unknown.statusCode, 404)
  })
})
