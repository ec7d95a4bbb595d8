import t from 'tap'
import { createTenant, json, postMessage, startApp, stats, tap, testClock } from '../helpers.js'
import { threadNiceValues, threadsAtNice } from '../fixtures/threads.js'

t.test('clicks are written by a thread of their own, at the lowest priority by default', async (t) => {
  const before = threadsAtNice(threadNiceValues(), 19)
  const app = await startApp(t, { clickWriter: 'thread' })
  t.equal(threadsAtNice(threadNiceValues(), 19), before + 1, 'one more thread runs at nice 19')
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  t.has((await stats(app, key, message.id)).clicks, { total: 2, unique: 2 }, 'and it writes them')
})

t.test('the thread settles judged clicks: a sweep is excluded, a person counts', async (t) => {
  const clock = testClock()
  const app = await startApp(t, { clickWriter: 'thread', clock, env: { SWEEP_MIN_RECIPIENTS: '8' } })
  const { key } = await createTenant(app)
  const recipients = Array.from({ length: 12 }, (_, i) => `r${i}`)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients }))
  const scanner = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/125.0.0.0 Safari/537.36'
  for (const recipient of message.recipients.slice(0, 10)) {
    clock.advance(400)
    await tap(app, recipient.links[0], { userAgent: scanner, address: '198.51.100.4' })
  }
  await tap(app, message.recipients[11].links[0], { address: '100.64.3.3' })
  t.has((await stats(app, key, message.id)).clicks, { total: 0, pending: 11 }, 'judged, not counted yet')
  clock.advance(30_000)
  t.has((await stats(app, key, message.id)).clicks, {
    total: 1,
    unique: 1,
    bots: 10,
    pending: 0,
    byReason: { sweep: 10 },
  })
})

t.test('CLICK_WRITER_NICE sets its priority', async (t) => {
  const before = threadsAtNice(threadNiceValues(), 7)
  await startApp(t, { clickWriter: 'thread', env: { CLICK_WRITER_NICE: '7' } })
  t.equal(threadsAtNice(threadNiceValues(), 7), before + 1)
})

t.test('CLICK_WRITER_NICE out of range is refused at start', async (t) => {
  await t.rejects(startApp(t, { clickWriter: 'thread', env: { CLICK_WRITER_NICE: '20' } }), /CLICK_WRITER_NICE/)
})

t.test('a batch larger than one slice reaches the thread whole and is written once', async (t) => {
  // Nothing is written until the flush below: the whole backlog is one batch of 2,500.
  const app = await startApp(t, {
    clickWriter: 'thread',
    env: { CLICK_FLUSH_INTERVAL_MS: '1000', CLICK_FLUSH_BATCH: '100000' },
  })
  const { key } = await createTenant(app)
  const recipients = Array.from({ length: 500 }, (_, i) => `r${i}`)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients }))
  for (let i = 0; i < 2_500; i++) await tap(app, message.recipients[i % 500].links[0])
  t.equal(app.services.recorder.depth, 2_500, 'all queued')
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 0)
  t.equal(app.services.recorder.written, 2_500)
  t.has((await stats(app, key, message.id)).clicks, { total: 2_500, unique: 500, bots: 0 })
})

t.test('a writer thread that dies is started again for the next batch', async (t) => {
  const app = await startApp(t, {
    clickWriter: 'thread',
    env: { CLICK_FLUSH_INTERVAL_MS: '1000', CLICK_FLUSH_BATCH: '100000' },
  })
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }),
  )
  await tap(app, message.recipients[0].links[0])
  await app.services.recorder.flush()
  // No hook for this in the service: the thread is reached through the recorder's
  // sink, as a crash (out of memory, a native fault) would leave it.
  const sink = (app.services.recorder as any).sink
  const atNice19 = threadsAtNice(threadNiceValues(), 19)
  await sink.worker.terminate()
  t.equal(threadsAtNice(threadNiceValues(), 19), atNice19 - 1, 'the thread is gone')
  await tap(app, message.recipients[1].links[0])
  await tap(app, message.recipients[2].links[0])
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 0, 'nothing left waiting')
  t.has((await stats(app, key, message.id)).clicks, { total: 3, unique: 3 }, 'every click written, by a new thread')
  t.equal(threadsAtNice(threadNiceValues(), 19), atNice19, 'a new one runs in its place, at nice 19 too')
})
