import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp, tap, UA, withEachBackend } from '../helpers.js'
import { recordClicks } from '../../src/clicks/click-batch.js'

type App = Awaited<ReturnType<typeof startApp>>

const engaged = (app: App, key: string, query = '') =>
  app.inject({ url: `/v1/recipients/engaged${query}`, headers: bearer(key) })

withEachBackend(t, (t) => {
  t.test('recipients with a human click, each once across messages, paged in id order', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const first = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/a' }], recipients: ['c', 'a', 'e', 'x'] }),
    )
    const second = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/b' }], recipients: ['a', 'b', 'd', 'y'] }),
    )
    for (const recipient of first.recipients.slice(0, 3)) await tap(app, recipient.links[0])
    for (const recipient of second.recipients.slice(0, 3)) await tap(app, recipient.links[0])
    await tap(app, first.recipients[3].links[0], { userAgent: UA.whatsapp })
    await tap(app, second.recipients[3].links[0], { method: 'HEAD' })
    await tap(app, second.links[0].shortUrl)

    const pages: string[][] = []
    let cursor: string | null = null
    do {
      const response = await engaged(app, key, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      t.equal(response.statusCode, 200)
      const body = json(response)
      pages.push(body.recipients)
      cursor = body.nextCursor
    } while (cursor !== null)
    t.same(pages, [['a', 'b'], ['c', 'd'], ['e']], 'machines and anonymous clicks are not engagement')
    t.same(json(await engaged(app, key)).recipients, ['a', 'b', 'c', 'd', 'e'], 'days defaults to 90')
  })

  t.test('clicks older than the window do not count; a later click does', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['old', 'new'] }),
    )
    const stored = (await app.services.store.getMessage(1, message.id))!
    const click = (recipientIdx: number, at: number) => ({
      at,
      messageId: stored.id,
      linkId: stored.links[0]!.id,
      recipientIdx,
      class: 'human' as const,
      reason: null,
      userAgent: UA.iphoneSafari,
      network: null,
      clickId: null,
      device: 'mobile',
      os: 'iOS',
      browser: 'Mobile Safari',
    })
    await recordClicks(app.services.store, [
      click(0, Date.now() - 40 * 86_400_000),
      click(1, Date.now() - 20 * 86_400_000),
    ])
    t.same(json(await engaged(app, key, '?days=30')).recipients, ['new'])
    t.same(json(await engaged(app, key, '?days=60')).recipients, ['new', 'old'])
    await recordClicks(app.services.store, [click(0, Date.now() - 86_400_000)])
    t.same(
      json(await engaged(app, key, '?days=30')).recipients,
      ['new', 'old'],
      "a repeat click moves the recipient's latest click",
    )
  })

  t.test("bad requests are 400s; another tenant's recipients are never listed", async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    await tap(app, message.recipients[0].links[0])
    for (const query of ['?days=0', '?limit=0', '?cursor=bm9wZQ', '?extra=1']) {
      t.equal((await engaged(app, key, query)).statusCode, 400, query)
    }
    const other = await createTenant(app, 's.other.dk', 'Other')
    t.same(json(await engaged(app, other.key)), { recipients: [], nextCursor: null })
    t.equal((await app.inject({ url: '/v1/recipients/engaged' })).statusCode, 401)
  })
})
