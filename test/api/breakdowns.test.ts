import t from 'tap'
import { bucketEdges, firstClickBucket, quantileSeconds } from '../../src/first-click-delay.js'
import { createTenant, json, postMessage, startApp, stats, tap, UA, withEachBackend } from '../helpers.js'

const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
const WINDOWS_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36'

withEachBackend(t, (t) => {
  t.test('device type, OS and browser of human clicks; machines are left out', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c', 'd'] }),
    )
    const [a, b, c, d] = message.recipients
    await tap(app, a.links[0], { userAgent: UA.iphoneSafari })
    await tap(app, a.links[0], { userAgent: UA.iphoneSafari })
    await tap(app, b.links[0], { userAgent: UA.androidChrome })
    await tap(app, c.links[0], { userAgent: IPAD })
    await tap(app, d.links[0], { userAgent: WINDOWS_CHROME })
    await tap(app, d.links[0], { userAgent: UA.whatsapp })
    await tap(app, d.links[0], { userAgent: UA.googlebot })
    const { breakdowns, clicks } = await stats(app, key, message.id)
    t.equal(clicks.total, 5)
    t.same(breakdowns.device, { mobile: 3, tablet: 1, desktop: 1 })
    t.same(breakdowns.os, { iOS: 3, Android: 1, Windows: 1 })
    t.same(breakdowns.browser, { 'Mobile Safari': 3, Chrome: 2 })
  })

  t.test('hour of day (UTC) and day since sending of human clicks', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
    await tap(app, message.recipients[0].links[0])
    await tap(app, message.recipients[1].links[0])
    await tap(app, message.recipients[1].links[0], { method: 'HEAD' })
    const { breakdowns } = await stats(app, key, message.id)
    const hour = new Date().getUTCHours()
    t.equal(breakdowns.hourOfDay.length, 24)
    // The taps may straddle an hour boundary; either way both are counted, in this hour or the last.
    t.equal(
      breakdowns.hourOfDay.reduce((sum: number, n: number) => sum + n, 0),
      2,
    )
    t.equal(breakdowns.hourOfDay[hour] + breakdowns.hourOfDay[(hour + 23) % 24], 2)
    t.same(breakdowns.daySinceSending, [{ day: 0, clicks: 2 }])
  })

  t.test('time to first click: one per recipient, repeats and anonymous clicks left out', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }),
    )
    let figures = await stats(app, key, message.id)
    t.same(figures.breakdowns.timeToFirstClick, { recipients: 0, medianSeconds: null, p90Seconds: null })
    await tap(app, message.recipients[0].links[0])
    await tap(app, message.recipients[0].links[0])
    await tap(app, message.recipients[1].links[0])
    await tap(app, message.links[0].shortUrl)
    figures = await stats(app, key, message.id)
    t.equal(figures.breakdowns.timeToFirstClick.recipients, 2)
    t.ok(figures.breakdowns.timeToFirstClick.medianSeconds < 60, 'within the test, so well under a minute')
  })

  t.test('the first-click histogram: buckets, edges and interpolated percentiles', async (t) => {
    t.equal(firstClickBucket(0), 0)
    t.equal(firstClickBucket(999), 0)
    t.equal(firstClickBucket(-5), 0, 'a click stamped before creation (clock skew) is the fastest bucket')
    t.equal(firstClickBucket(1000), 1)
    t.equal(firstClickBucket(2000), 5, 'four buckets per doubling')
    t.equal(firstClickBucket(60_000), Math.floor(Math.log2(60) * 4) + 1)
    t.equal(firstClickBucket(10 * 365 * 86_400_000), 101, 'everything past a year in the last bucket')
    for (const ms of [1500, 45_000, 3_600_000]) {
      const [low, high] = bucketEdges(firstClickBucket(ms))
      t.ok(low <= ms / 1000 && ms / 1000 < high, `${ms} ms lies inside its bucket`)
      t.ok(high / low < 1.19 + 1e-9, 'each bucket is at most 19 % wide')
    }
    t.equal(quantileSeconds(new Map(), 0.5), null)
    // 10 recipients in [64 s, 76.1 s): the median is halfway through the bucket on the log scale.
    const bucket = firstClickBucket(64_000)
    t.same(bucketEdges(bucket)[0], 64)
    t.equal(quantileSeconds(new Map([[bucket, 10]]), 0.5), Math.round(64 * 2 ** (0.5 / 4) * 10) / 10)
    // 9 fast recipients and 1 slow one: the 90th percentile is the top of the fast bucket.
    const counts = new Map([
      [firstClickBucket(30_000), 9],
      [firstClickBucket(3_600_000), 1],
    ])
    t.equal(quantileSeconds(counts, 0.9), Math.round(bucketEdges(firstClickBucket(30_000))[1] * 10) / 10)
    t.equal(quantileSeconds(new Map([[0, 4]]), 0.5), 0.5, 'linear inside the first second')
  })
})
