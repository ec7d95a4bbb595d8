import t from 'tap'
import { clickSeriesBucket, LAST_SERIES_BUCKET, seriesBucketSpan } from '../../src/click-series.js'
import { firstClickBucket, shareWithin } from '../../src/first-click-delay.js'

const MINUTE = 60_000
const HOUR = 3_600_000

t.test('minutes in the first hour, hours to the seventh day, then one bucket', async (t) => {
  t.equal(clickSeriesBucket(-5000), 0, 'a click stamped before the creation counts in minute 0')
  t.equal(clickSeriesBucket(0), 0)
  t.equal(clickSeriesBucket(MINUTE - 1), 0)
  t.equal(clickSeriesBucket(MINUTE), 1)
  t.equal(clickSeriesBucket(HOUR - 1), 59)
  t.equal(clickSeriesBucket(HOUR), 60)
  t.equal(clickSeriesBucket(2 * HOUR), 61)
  t.equal(clickSeriesBucket(168 * HOUR - 1), LAST_SERIES_BUCKET - 1)
  t.equal(clickSeriesBucket(168 * HOUR), LAST_SERIES_BUCKET)
  t.equal(clickSeriesBucket(400 * 24 * HOUR), LAST_SERIES_BUCKET)
  t.equal(LAST_SERIES_BUCKET, 227, 'at most 228 rows per message')
})

t.test("each bucket's span holds exactly the delays that fall into it", async (t) => {
  for (let bucket = 0; bucket <= LAST_SERIES_BUCKET; bucket++) {
    const [start, end] = seriesBucketSpan(bucket)
    t.equal(clickSeriesBucket(start), bucket, `start of ${bucket}`)
    if (end !== Infinity) {
      t.equal(clickSeriesBucket(end - 1), bucket, `end of ${bucket}`)
      t.equal(clickSeriesBucket(end), bucket + 1, `after ${bucket}`)
    }
  }
})

t.test('share of clickers within a time, from the first-click histogram', async (t) => {
  const counts = new Map<number, number>()
  const add = (ms: number) => counts.set(firstClickBucket(ms), (counts.get(firstClickBucket(ms)) ?? 0) + 1)
  t.equal(shareWithin(counts, 60), null, 'nobody clicked yet')
  for (const seconds of [10, 20, 30, 40, 100, 200, 1000, 5000]) add(seconds * 1000)
  t.equal(shareWithin(counts, 0), 0)
  t.equal(shareWithin(counts, 60), 0.5, 'four of eight within a minute')
  t.equal(shareWithin(counts, 6000), 1)
  const between = shareWithin(counts, 150)!
  t.ok(between > 0.5 && between < 0.75, `interpolated between 100 s and 200 s: ${between}`)
})
