import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp, confirmUnsubscribe, withEachBackend } from '../helpers.js'

const page = async (app: FastifyInstance, key: string, query: string) =>
  json(await app.inject({ url: `/v1/optouts${query}`, headers: bearer(key) }))

withEachBackend(t, (t) => {
  t.test('the opt-out list pages oldest first by cursor, and the last cursor picks up new opt-outs', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const recipients = ['r0', 'r1', 'r2', 'r3', 'r4']
    const first = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients, unsubscribe: true }),
    )
    const second = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/2' }], recipients: ['r9'], unsubscribe: true }),
    )
    for (const i of [3, 0, 4]) await confirmUnsubscribe(app, first.recipients[i].unsubscribeUrl)
    await confirmUnsubscribe(app, second.recipients[0].unsubscribeUrl)
    // r0 again from the second message's page: still one entry.
    const again = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/3' }], recipients: ['r0'], unsubscribe: true }),
    )
    await confirmUnsubscribe(app, again.recipients[0].unsubscribeUrl)

    const one = await page(app, key, '?limit=2')
    t.same(
      one.optOuts.map((o: { recipient: string }) => o.recipient),
      ['r3', 'r0'],
    )
    t.equal(one.optOuts[0].messageId, first.id)
    t.match(one.optOuts[0].at, /^\d{4}-\d\d-\d\dT/)
    t.equal(one.hasMore, true)
    const two = await page(app, key, `?limit=2&since=${one.nextCursor}`)
    t.same(
      two.optOuts.map((o: { recipient: string; messageId: string }) => [o.recipient, o.messageId]),
      [
        ['r4', first.id],
        ['r9', second.id],
      ],
    )
    t.equal(two.hasMore, false)
    const three = await page(app, key, `?limit=2&since=${two.nextCursor}`)
    t.same(three.optOuts, [])
    t.equal(three.nextCursor, two.nextCursor, 'nothing new: the same cursor to keep')

    await confirmUnsubscribe(app, first.recipients[1].unsubscribeUrl)
    const later = await page(app, key, `?since=${three.nextCursor}`)
    t.same(
      later.optOuts.map((o: { recipient: string }) => o.recipient),
      ['r1'],
      'only what came since',
    )
  })

  t.test('a bad cursor is a 400', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    for (const since of ['nope', Buffer.from('m12').toString('base64url')]) {
      const response = await app.inject({ url: `/v1/optouts?since=${since}`, headers: bearer(key) })
      t.equal(response.statusCode, 400)
      t.equal(json(response).error, 'invalid_cursor')
    }
    t.equal((await app.inject({ url: '/v1/optouts' })).statusCode, 401, 'needs an API key')
  })

  t.test("another tenant's key sees none of the opt-outs", async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const other = await createTenant(app, 's.other.dk', 'Other')
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'], unsubscribe: true }),
    )
    await confirmUnsubscribe(app, message.recipients[0].unsubscribeUrl)
    t.equal((await page(app, key, '')).optOuts.length, 1)
    t.same((await page(app, other.key, '')).optOuts, [])
  })
})
