import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp, withEachBackend } from '../helpers.js'

withEachBackend(t, (t) => {
  t.test('messages are listed newest first, a page at a time', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push(
        json(
          await postMessage(app, key, { externalId: `m${i}`, links: [{ url: 'https://shop.dk' }], recipients: ['a'] }),
        ).id,
      )
    }
    const first = json(await app.inject({ url: '/v1/messages?limit=2', headers: bearer(key) }))
    t.same(
      first.messages.map((m: { id: string }) => m.id),
      [ids[4], ids[3]],
    )
    t.type(first.nextCursor, 'string')
    const second = json(
      await app.inject({ url: `/v1/messages?limit=2&cursor=${first.nextCursor}`, headers: bearer(key) }),
    )
    t.same(
      second.messages.map((m: { id: string }) => m.id),
      [ids[2], ids[1]],
    )
    const last = json(
      await app.inject({ url: `/v1/messages?limit=2&cursor=${second.nextCursor}`, headers: bearer(key) }),
    )
    t.same(
      last.messages.map((m: { id: string }) => m.id),
      [ids[0]],
    )
    t.equal(last.nextCursor, null)
    t.match(last.messages[0], { externalId: 'm0', recipientCount: 1, domain: 's.shop.dk' })
    t.notOk('recipients' in last.messages[0], 'lists carry no recipient links')
  })

  t.test('a bad cursor or limit is a 400', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    for (const query of ['cursor=nonsense', 'limit=0', 'limit=1000', 'limit=abc', 'other=1']) {
      const response = await app.inject({ url: `/v1/messages?${query}`, headers: bearer(key) })
      t.equal(response.statusCode, 400, query)
      t.match(json(response).error, /invalid_cursor|invalid_request/, query)
    }
  })

  t.test('one message by id', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const created = json(
      await postMessage(app, key, {
        kind: 'flow',
        campaign: 'welcome',
        links: [{ url: 'https://shop.dk/hi' }],
        recipients: ['a', 'b'],
      }),
    )
    const response = await app.inject({ url: `/v1/messages/${created.id}`, headers: bearer(key) })
    t.equal(response.statusCode, 200)
    const { recipients, ...withoutRecipients } = created
    t.same(json(response), withoutRecipients)
    t.equal(recipients.length, 2)
    const missing = await app.inject({ url: '/v1/messages/msg_missing', headers: bearer(key) })
    t.equal(missing.statusCode, 404)
  })
})
