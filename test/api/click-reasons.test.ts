import t from 'tap'
import { createTenant, json, postMessage, startApp, stats, tap, UA, withEachBackend } from '../helpers.js'

const ZERO = { head_request: 0, no_user_agent: 0, bot_user_agent: 0, preview_user_agent: 0, too_fast: 0, burst: 0 }

async function oneTap(t: Parameters<typeof startApp>[0], options: Parameters<typeof tap>[2]) {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a'] }))
  const response = await tap(app, message.recipients[0].links[0], options)
  t.equal(response.statusCode, 302, 'every fetch is redirected, person or not')
  return (await stats(app, key, message.id)).clicks
}

const cases: Array<[string, Parameters<typeof tap>[2], object]> = [
  [
    'an iPhone Safari tap is a person',
    { userAgent: UA.iphoneSafari },
    { total: 1, unique: 1, bots: 0, previews: 0, byReason: ZERO },
  ],
  [
    'an Android Chrome tap is a person',
    { userAgent: UA.androidChrome },
    { total: 1, unique: 1, bots: 0, previews: 0, byReason: ZERO },
  ],
  [
    'the iMessage preview is a preview',
    { userAgent: UA.imessagePreview },
    { total: 0, unique: 0, bots: 0, previews: 1, byReason: { ...ZERO, preview_user_agent: 1 } },
  ],
  [
    'WhatsApp is a preview',
    { userAgent: UA.whatsapp },
    { total: 0, unique: 0, bots: 0, previews: 1, byReason: { ...ZERO, preview_user_agent: 1 } },
  ],
  [
    'Slackbot is a preview',
    { userAgent: UA.slackbot },
    { total: 0, unique: 0, bots: 0, previews: 1, byReason: { ...ZERO, preview_user_agent: 1 } },
  ],
  [
    'Googlebot is a bot',
    { userAgent: UA.googlebot },
    { total: 0, unique: 0, bots: 1, previews: 0, byReason: { ...ZERO, bot_user_agent: 1 } },
  ],
  [
    'a HEAD with a browser user agent is a bot',
    { method: 'HEAD', userAgent: UA.iphoneSafari },
    { total: 0, unique: 0, bots: 1, previews: 0, byReason: { ...ZERO, head_request: 1 } },
  ],
  [
    'a fetch without a user agent is a bot',
    { userAgent: null },
    { total: 0, unique: 0, bots: 1, previews: 0, byReason: { ...ZERO, no_user_agent: 1 } },
  ],
]

for (const [name, options, expected] of cases) {
  t.test(name, async (t) => {
    t.same(await oneTap(t, options), expected)
  })
}

withEachBackend(t, (t) => {
  t.test('the export and the webhook see the same reason as the counters', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a'] }))
    await tap(app, message.recipients[0].links[0], { userAgent: UA.whatsapp })
    await tap(app, message.recipients[0].links[0], { method: 'HEAD' })
    const figures = await stats(app, key, message.id)
    t.equal(figures.clicks.previews, 1)
    t.equal(figures.clicks.bots, 1)
    t.same(figures.links[0].clicks, { total: 0, unique: 0, bots: 1, previews: 1 })
  })
})
