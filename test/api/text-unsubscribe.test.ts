import t from 'tap'
import { countSegments } from '../../src/messages/segments.js'
import {
  bearer,
  createTenant,
  json,
  postMessage,
  startApp,
  UA,
  confirmUnsubscribe,
  withEachBackend,
} from '../helpers.js'

const text = 'Black Friday: -30% på alt! shop.dk/sale Afmeld: {unsubscribe}'

withEachBackend(t, (t) => {
  t.test('{unsubscribe} in a text becomes each recipient’s own working unsubscribe link', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const response = await postMessage(app, key, { text, recipients: ['a', 'b'] })
    t.equal(response.statusCode, 201)
    const message = json(response)
    t.equal(message.unsubscribe, true, 'the placeholder turns unsubscribe links on')
    for (const recipient of message.recipients) {
      t.match(recipient.unsubscribeUrl, /^https:\/\/s\.shop\.dk\/u\/[0-9A-Za-z]{6}-[0-9A-Za-z]{7,}$/)
      t.equal(recipient.text, `Black Friday: -30% på alt! ${recipient.links[0]} Afmeld: ${recipient.unsubscribeUrl}`)
      t.same(recipient.segments, countSegments(recipient.text), 'segments count the unsubscribe link too')
    }
    t.not(message.recipients[0].unsubscribeUrl, message.recipients[1].unsubscribeUrl)
    t.same(
      message.segments.rewritten,
      countSegments(message.recipients[1].text),
      'the longest text is the last recipient’s',
    )

    const page = new URL(message.recipients[0].unsubscribeUrl)
    const get = await app.inject({ url: page.pathname, headers: { host: page.host, 'user-agent': UA.iphoneSafari } })
    t.equal(get.statusCode, 200)
    const post = await confirmUnsubscribe(app, page.href, { userAgent: UA.iphoneSafari })
    t.equal(post.statusCode, 200)
    const optouts = json(await app.inject({ url: '/v1/optouts', headers: bearer(key) }))
    t.same(
      optouts.optOuts.map((o: { recipient: string }) => o.recipient),
      ['a'],
    )
  })

  t.test('with stripScheme the unsubscribe link in the text has no scheme either', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { text, stripScheme: true, recipients: ['a'] }))
    const [recipient] = message.recipients
    const bare = (url: string) => url.replace('https://', '')
    t.equal(
      recipient.text,
      `Black Friday: -30% på alt! ${bare(recipient.links[0])} Afmeld: ${bare(recipient.unsubscribeUrl)}`,
    )
    t.match(recipient.unsubscribeUrl, /^https:\/\//, 'the JSON field keeps the full URL')
  })

  t.test('a re-post must agree on unsubscribe links', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    await postMessage(app, key, { externalId: 'x', links: [{ url: 'https://shop.dk' }], recipients: ['a'] })
    const again = await postMessage(app, key, {
      externalId: 'x',
      links: [{ url: 'https://shop.dk' }],
      unsubscribe: true,
      recipients: ['a'],
    })
    t.equal(again.statusCode, 409)
    t.match(json(again).message, /unsubscribe/)
  })
})
