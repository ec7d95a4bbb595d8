import type { FastifyInstance } from 'fastify'
import t from 'tap'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  reusableDatabase,
  UA,
  confirmUnsubscribe,
  startWithMessage,
  withEachBackend,
} from '../helpers.js'

const WITH_UNSUBSCRIBE = {
  links: [{ url: 'https://shop.dk/sale' }],
  recipients: ['cust-1', 'cust-2', 'cust-3'],
  unsubscribe: true,
}

/** Opens an unsubscribe URL as a phone would (GET or HEAD), with its host. */
function visit(
  app: FastifyInstance,
  unsubscribeUrl: string,
  options: { userAgent?: string; method?: 'GET' | 'HEAD' } = {},
) {
  const url = new URL(unsubscribeUrl)
  return app.inject({
    method: options.method ?? 'GET',
    url: url.pathname,
    headers: { host: url.host, 'user-agent': options.userAgent ?? UA.iphoneSafari },
  })
}

/** Presses the page's button, from a phone. */
const confirm = (app: FastifyInstance, unsubscribeUrl: string, form?: string) =>
  confirmUnsubscribe(app, unsubscribeUrl, { userAgent: UA.iphoneSafari, form })

/** Stats after clicks and unsubscribe-page visits are written. */
async function figures(app: FastifyInstance, key: string, messageId: string) {
  await flushClicks(app)
  await app.services.unsubscribeVisits.flush()
  return json(await app.inject({ url: `/v1/messages/${messageId}/stats`, headers: bearer(key) }))
}

async function optOuts(app: FastifyInstance, key: string) {
  return json(await app.inject({ url: '/v1/optouts', headers: bearer(key) })).optOuts
}

withEachBackend(t, (t) => {
  t.test('each recipient gets its own unsubscribe link on the message domain, with a 6-character MAC', async (t) => {
    const { message } = await startWithMessage(t, WITH_UNSUBSCRIBE)
    t.equal(message.unsubscribe, true)
    const urls = message.recipients.map((r: { unsubscribeUrl: string }) => r.unsubscribeUrl)
    t.equal(new Set(urls).size, 3)
    for (const url of urls) t.match(url, /^https:\/\/s\.shop\.dk\/u\/[0-9A-Za-z]{6}-[0-9A-Za-z]{7}$/)
    t.same(
      message.recipients.map((r: { optedOut: boolean }) => r.optedOut),
      [false, false, false],
    )
  })

  t.test('a message without unsubscribe: true has no unsubscribe links', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    t.equal(message.unsubscribe, false)
    t.notOk('unsubscribeUrl' in message.recipients[0])
  })

  t.test('a GET shows the confirmation page and changes nothing; the POST opts out once', async (t) => {
    const { app, key, message } = await startWithMessage(t, WITH_UNSUBSCRIBE, { tenantName: 'Shop <&> Co' })
    const url = message.recipients[1].unsubscribeUrl

    const page = await visit(app, url)
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /^text\/html/)
    t.equal(page.headers['cache-control'], 'private, max-age=0')
    t.match(page.headers['x-robots-tag'], /noindex/)
    t.match(page.body, /<meta name="robots" content="noindex/)
    t.match(page.body, /Shop &lt;&amp;&gt; Co/, "the tenant's name, escaped")
    t.match(page.body, /<form method="post"><input type="hidden" name="confirm" value="unsubscribe">/)
    t.notMatch(page.body, /<script|https?:\/\//, 'no script, no external assets')
    await visit(app, url)
    t.same(await optOuts(app, key), [], 'visiting is not unsubscribing')
    let stats = await figures(app, key, message.id)
    t.same(stats.unsubscribes, {
      linkVisits: 2,
      confirmed: 0,
      total: 0,
      bySource: { link: 0, reply: 0, import: 0, support: 0 },
    })

    const done = await confirm(app, url)
    t.equal(done.statusCode, 200)
    t.match(done.body, /You are unsubscribed/)
    t.equal(done.headers['cache-control'], 'private, max-age=0')
    const list = await optOuts(app, key)
    t.equal(list.length, 1)
    t.same(
      { recipient: list[0].recipient, messageId: list[0].messageId },
      { recipient: 'cust-2', messageId: message.id },
    )

    const again = await confirm(app, url)
    t.equal(again.statusCode, 200, 'pressing again is harmless')
    t.equal((await optOuts(app, key)).length, 1, 'still one opt-out')
    stats = await figures(app, key, message.id)
    t.same(stats.unsubscribes, {
      linkVisits: 2,
      confirmed: 1,
      total: 1,
      bySource: { link: 1, reply: 0, import: 0, support: 0 },
    })
    t.equal(stats.unsubscribeRate, 0.3333, 'confirmed ÷ recipients while nothing is delivered')
  })

  t.test('HEAD requests, link previews and scanners never unsubscribe and are not visits', async (t) => {
    const { app, key, message } = await startWithMessage(t, WITH_UNSUBSCRIBE)
    const url = message.recipients[0].unsubscribeUrl
    for (const userAgent of [UA.imessagePreview, UA.whatsapp, UA.slackbot, UA.googlebot]) {
      t.equal((await visit(app, url, { userAgent })).statusCode, 200, userAgent)
    }
    t.equal((await visit(app, url, { method: 'HEAD' })).statusCode, 200)
    t.same(await optOuts(app, key), [])
    const stats = await figures(app, key, message.id)
    t.same(stats.unsubscribes, {
      linkVisits: 0,
      confirmed: 0,
      total: 0,
      bySource: { link: 0, reply: 0, import: 0, support: 0 },
    })
  })

  t.test('a POST without the form field (not from the button) only shows the page', async (t) => {
    const { app, key, message } = await startWithMessage(t, WITH_UNSUBSCRIBE)
    const url = message.recipients[0].unsubscribeUrl
    const response = await confirm(app, url, 'something=else')
    t.equal(response.statusCode, 200)
    t.match(response.body, /Stop texts from Shop/)
    const empty = await app.inject({ method: 'POST', url: new URL(url).pathname, headers: { host: 's.shop.dk' } })
    t.equal(empty.statusCode, 200)
    t.same(await optOuts(app, key), [])
  })

  t.test('a forged or mangled unsubscribe link gets a neutral 404 page and changes nothing', async (t) => {
    const { app, key, message } = await startWithMessage(t, WITH_UNSUBSCRIBE)
    const real = new URL(message.recipients[0].unsubscribeUrl).pathname
    const code = real.slice(3, 9)
    const token = real.slice(10)
    const forged = [
      `/u/${code}-${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`, // same index, wrong MAC
      `/u/${code}-${message.recipients[0].token}`, // a click token is not an unsubscribe token
      `/u/${code}-9${token.slice(1)}`, // another index under the same MAC
      `/u/${code}`,
      `/u/zzzzzz-${token}`,
      '/u/nonsense',
    ]
    for (const path of forged) {
      for (const method of ['GET', 'POST'] as const) {
        const response = await app.inject({
          method,
          url: path,
          headers: { host: 's.shop.dk', 'content-type': 'application/x-www-form-urlencoded' },
          payload: method === 'POST' ? 'confirm=unsubscribe' : undefined,
        })
        t.equal(response.statusCode, 404, `${method} ${path}`)
        t.match(response.body, /This link is not valid/)
      }
    }
    const wrongHost = await app.inject({ method: 'POST', url: real, headers: { host: 's.other.dk' }, payload: {} })
    t.equal(wrongHost.statusCode, 404, 'the right path on another host')
    t.same(await optOuts(app, key), [])
    const stats = await figures(app, key, message.id)
    t.same(stats.unsubscribes, {
      linkVisits: 0,
      confirmed: 0,
      total: 0,
      bySource: { link: 0, reply: 0, import: 0, support: 0 },
    })
  })

  t.test('an opted-out recipient is flagged on later messages, and still gets links', async (t) => {
    const { app, key, message } = await startWithMessage(t, WITH_UNSUBSCRIBE)
    await confirm(app, message.recipients[0].unsubscribeUrl)
    const next = json(
      await postMessage(app, key, {
        links: [{ url: 'https://shop.dk/new' }],
        recipients: ['cust-1', 'cust-9'],
        unsubscribe: true,
      }),
    )
    t.same(
      next.recipients.map((r: { id: string; optedOut: boolean }) => [r.id, r.optedOut]),
      [
        ['cust-1', true],
        ['cust-9', false],
      ],
    )
    t.equal(next.recipients[0].links.length, 1, 'links are still returned for bookkeeping')
    const added = json(
      await app.inject({
        method: 'POST',
        url: `/v1/messages/${message.id}/recipients`,
        headers: bearer(key),
        payload: { recipients: ['cust-1', 'cust-4'] },
      }),
    )
    t.same(
      added.recipients.map((r: { optedOut: boolean }) => r.optedOut),
      [true, false],
    )

    // Another tenant's recipient with the same id is not opted out.
    const other = await createTenant(app, 's.other.dk', 'Other')
    const theirs = json(await postMessage(app, other.key, { links: [{ url: 'https://o.dk' }], recipients: ['cust-1'] }))
    t.equal(theirs.recipients[0].optedOut, false)
  })

  t.test('re-posting an externalId with a different unsubscribe setting is a conflict', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const body = { externalId: 'send-1', links: [{ url: 'https://shop.dk' }], recipients: ['a'] }
    t.equal((await postMessage(app, key, { ...body, unsubscribe: true })).statusCode, 201)
    const again = await postMessage(app, key, { ...body, unsubscribe: true })
    t.equal(again.statusCode, 200)
    const conflict = await postMessage(app, key, body)
    t.equal(conflict.statusCode, 409)
    t.match(json(conflict).message, /unsubscribe/)
  })

  t.test('opt-outs survive a restart, and the links keep verifying', async (t) => {
    const database = await reusableDatabase(t)
    const first = await startApp(t, database)
    const { key } = await createTenant(first)
    const message = json(
      await postMessage(first, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'], unsubscribe: true }),
    )
    await confirm(first, message.recipients[0].unsubscribeUrl)
    await visit(first, message.recipients[1].unsubscribeUrl)
    await first.close()

    const second = await startApp(t, database)
    t.equal((await optOuts(second, key)).length, 1)
    t.equal((await confirm(second, message.recipients[1].unsubscribeUrl)).statusCode, 200)
    const stats = await figures(second, key, message.id)
    t.same(
      stats.unsubscribes,
      { linkVisits: 1, confirmed: 2, total: 2, bySource: { link: 2, reply: 0, import: 0, support: 0 } },
      'the visit queued before close was written',
    )
  })
})
