import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  tap,
  UA,
  startWithMessage,
  withEachBackend,
} from '../helpers.js'

/** A message with five clicks: two people, a preview, a HEAD request and a fetch without user agent. */
async function messageWithClicks(t: Test) {
  const { app, key, message } = await startWithMessage(t, {
    links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }],
    recipients: ['cust-1', 'cust-2'],
  })
  const [one, two] = message.recipients
  await tap(app, one.links[0], { userAgent: UA.iphoneSafari })
  await tap(app, two.links[1], { userAgent: UA.androidChrome })
  await tap(app, one.links[0], { userAgent: UA.whatsapp })
  await tap(app, message.links[1].shortUrl, { method: 'HEAD', userAgent: UA.iphoneSafari })
  await tap(app, one.links[1], { userAgent: null })
  await flushClicks(app)
  return { app, key, message }
}

const page = (app: FastifyInstance, key: string, id: string, query = '') =>
  app.inject({ url: `/v1/messages/${id}/clicks${query}`, headers: bearer(key) })

withEachBackend(t, (t) => {
  t.test('JSON pages: every click with its class, reason, device, OS and browser, oldest first', async (t) => {
    const { app, key, message } = await messageWithClicks(t)
    const [a, b] = message.links.map((link: { id: string }) => link.id)
    const first = await page(app, key, message.id, '?limit=2')
    t.equal(first.statusCode, 200)
    const one = json(first)
    t.match(one.clicks[0].at, /^\d{4}-\d\d-\d\dT/)
    t.same(
      one.clicks.map(({ at: _at, ...rest }: { at: string }) => rest),
      [
        {
          link: a,
          recipient: 'cust-1',
          class: 'human',
          reason: null,
          device: 'mobile',
          os: 'iOS',
          browser: 'Mobile Safari',
        },
        {
          link: b,
          recipient: 'cust-2',
          class: 'human',
          reason: null,
          device: 'mobile',
          os: 'Android',
          browser: 'Chrome',
        },
      ],
    )
    t.type(one.nextCursor, 'string')
    const two = json(await page(app, key, message.id, `?limit=2&cursor=${one.nextCursor}`))
    t.same(
      two.clicks.map(({ link, recipient, class: c, reason }: any) => ({ link, recipient, class: c, reason })),
      [
        { link: a, recipient: 'cust-1', class: 'preview', reason: 'preview_user_agent' },
        { link: b, recipient: null, class: 'bot', reason: 'head_request' },
      ],
    )
    const three = json(await page(app, key, message.id, `?limit=2&cursor=${two.nextCursor}`))
    t.same(three.clicks.length, 1)
    t.same(three.clicks[0], {
      ...three.clicks[0],
      recipient: 'cust-1',
      class: 'bot',
      reason: 'no_user_agent',
      device: null,
      os: null,
      browser: null,
    })
    t.equal(three.nextCursor, null, 'the last page says so')
  })

  t.test('NDJSON streams every click, one per line, without paging', async (t) => {
    const { app, key, message } = await messageWithClicks(t)
    const response = await app.inject({
      url: `/v1/messages/${message.id}/clicks?limit=1`,
      headers: { ...bearer(key), accept: 'application/x-ndjson' },
    })
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^application\/x-ndjson/)
    const lines = response.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
    t.same(
      lines.map((line) => line.class),
      ['human', 'human', 'preview', 'bot', 'bot'],
    )
    const paged = json(await page(app, key, message.id, '?limit=1000'))
    t.same(lines, paged.clicks, 'the same objects as the JSON pages')
  })

  t.test('a message without clicks exports nothing', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    t.same(json(await page(app, key, message.id)), { clicks: [], nextCursor: null })
    const ndjson = await app.inject({
      url: `/v1/messages/${message.id}/clicks`,
      headers: { ...bearer(key), accept: 'application/x-ndjson' },
    })
    t.equal(ndjson.body, '')
  })

  t.test('a bad cursor is a 400, also for NDJSON', async (t) => {
    const { app, key, message } = await messageWithClicks(t)
    for (const accept of ['application/json', 'application/x-ndjson']) {
      const response = await app.inject({
        url: `/v1/messages/${message.id}/clicks?cursor=nope`,
        headers: { ...bearer(key), accept },
      })
      t.equal(response.statusCode, 400, accept)
      t.equal(json(response).error, 'invalid_cursor', accept)
    }
    t.equal((await page(app, key, message.id, '?limit=0')).statusCode, 400)
  })

  t.test("another tenant's key gets 404 for the export", async (t) => {
    const { app, message } = await messageWithClicks(t)
    const other = await createTenant(app, 's.other.dk', 'Other')
    const response = await page(app, other.key, message.id)
    t.equal(response.statusCode, 404)
    t.same(json(response), { error: 'not_found', message: 'message not found' })
    t.equal((await app.inject({ url: `/v1/messages/${message.id}/clicks` })).statusCode, 401, 'and no key is a 401')
  })
})
