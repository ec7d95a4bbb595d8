import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { bearer, startWithMessage, stats, tap, testClock, UA, type TestClock, withEachBackend } from '../helpers.js'

const SALE = { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a', 'b', 'c', 'd'] }

/** A message sent just now, on a service whose clock the test moves. */
function sendWith(t: Test, tooFastMs: string, clock: TestClock = testClock()) {
  return startWithMessage(t, SALE, { env: { TOO_FAST_MS: tooFastMs }, clock })
}

withEachBackend(t, (t) => {
  t.test('a tap sooner after sending than a person could read is bot/too_fast; a later one counts', async (t) => {
    const clock = testClock()
    const { app, key, message } = await sendWith(t, '2000', clock)
    const [a, b] = message.recipients
    await tap(app, a.links[0], { userAgent: UA.iphoneSafari })
    await tap(app, message.links[0].shortUrl, { userAgent: UA.androidChrome })
    let figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 0, unique: 0, bots: 2, byReason: { too_fast: 2 } }, 'with a token or without')
    t.equal(figures.ctr, 0)

    clock.advance(2100)
    await tap(app, b.links[0], { userAgent: UA.iphoneSafari })
    await tap(app, a.links[0], { userAgent: UA.iphoneSafari })
    figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 2, unique: 2, bots: 2, byReason: { too_fast: 2 } })
    t.equal(figures.ctr, 0.5, 'the recipient whose first fetch was a machine still counts when it taps')
  })

  t.test("a recipient's delivery report moves its threshold; other recipients keep the creation time", async (t) => {
    const clock = testClock()
    const { app, key, message } = await sendWith(t, '2000', clock)
    const [a, b, c] = message.recipients
    // c's report says it reached the phone a minute from now: any fetch before that is a scanner.
    const report = await app.inject({
      method: 'POST',
      url: `/v1/messages/${message.id}/deliveries`,
      headers: bearer(key),
      payload: {
        reports: [
          { recipient: 'c', status: 'delivered', at: new Date(clock.now() + 60_000).toISOString() },
          { recipient: 'b', status: 'delivered', at: new Date(clock.now() - 3_600_000).toISOString() },
        ],
      },
    })
    t.equal(report.statusCode, 200)
    clock.advance(2100)
    await tap(app, a.links[0])
    await tap(app, b.links[0])
    await tap(app, c.links[0])
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 2, unique: 2, bots: 1, byReason: { too_fast: 1 } })
    t.equal(figures.ctr, 1, 'unique clickers over the 2 delivered recipients')
  })

  t.test('a report-backed early tap: delivered a moment ago still means too fast', async (t) => {
    const clock = testClock()
    const { app, key, message } = await sendWith(t, '2000', clock)
    clock.advance(2100)
    await app.inject({
      method: 'POST',
      url: `/v1/messages/${message.id}/deliveries`,
      headers: bearer(key),
      payload: { reports: [{ recipient: 'd', status: 'delivered' }] },
    })
    await tap(app, message.recipients[3].links[0])
    const figures = await stats(app, key, message.id)
    t.has(
      figures.clicks,
      { total: 0, bots: 1, byReason: { too_fast: 1 } },
      'past the creation threshold, not past the delivery one',
    )
  })

  t.test('TOO_FAST_MS=0 turns the rule off', async (t) => {
    const { app, key, message } = await sendWith(t, '0')
    await tap(app, message.recipients[0].links[0])
    t.has((await stats(app, key, message.id)).clicks, { total: 1, unique: 1, bots: 0, byReason: { too_fast: 0 } })
  })

  t.test('machines are judged by their user agent first: a fast preview stays a preview', async (t) => {
    const { app, key, message } = await sendWith(t, '2000')
    await tap(app, message.recipients[0].links[0], { userAgent: UA.whatsapp })
    t.has((await stats(app, key, message.id)).clicks, {
      previews: 1,
      bots: 0,
      byReason: { preview_user_agent: 1, too_fast: 0 },
    })
  })

  t.test('on the real clock, a tap within TOO_FAST_MS is too_fast and one after it counts', async (t) => {
    // Long enough that the first tap lands inside it on a busy machine; the second
    // waits it out in full after the first, so it lands outside.
    const { app, key, message } = await startWithMessage(t, SALE, { env: { TOO_FAST_MS: '500' } })
    const [a, b] = message.recipients
    await tap(app, a.links[0])
    await sleep(510)
    await tap(app, b.links[0])
    t.has((await stats(app, key, message.id)).clicks, { total: 1, unique: 1, bots: 1, byReason: { too_fast: 1 } })
  })
})
