import t from 'tap'
import { SqliteStore } from '../src/db/sqlite-store.js'
import type { ClickRecord } from '../src/db/store.js'
import { createTenant, json, postMessage, startApp, stats, tap, tempDatabasePath } from './helpers.js'

t.test('a full click queue still redirects every tap, and counts only what it kept', async (t) => {
  const app = await startApp(t, { env: { CLICK_QUEUE_MAX: '2' } })
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }))
  for (const recipient of message.recipients) {
    const response = await tap(app, recipient.links[0])
    t.equal(response.statusCode, 302, 'redirected although the queue is full')
  }
  const figures = await stats(app, key, message.id)
  t.has(figures.clicks, { total: 2, unique: 2, bots: 0, previews: 0 })
  t.equal(app.services.recorder.dropped, 1)
})

t.test('a failed write keeps the clicks and stores them on the next flush', async (t) => {
  const store = SqliteStore.open(tempDatabasePath(t))
  let failures = 1
  const realRecord = store.recordClicks.bind(store)
  store.recordClicks = async (clicks: ClickRecord[]) => {
    if (failures-- > 0) throw new Error('SQLITE_BUSY: database is locked')
    return realRecord(clicks)
  }
  const app = await startApp(t, { store, logger: false })
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  await tap(app, message.recipients[0].links[0])
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 1, 'kept after the failure')
  const figures = await stats(app, key, message.id)
  t.has(figures.clicks, { total: 1, unique: 1, bots: 0, previews: 0 }, 'written on the retry')
})

t.test('a batch larger than the batch size is written in several transactions', async (t) => {
  const app = await startApp(t, { env: { CLICK_FLUSH_BATCH: '3' } })
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }),
  )
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  const figures = await stats(app, key, message.id)
  t.has(figures.clicks, { total: 7, unique: 7, bots: 0, previews: 0 })
})

t.test('a failed batch goes back in front of the clicks queued meanwhile, none lost or counted twice', async (t) => {
  const store = SqliteStore.open(tempDatabasePath(t))
  const realRecord = store.recordClicks.bind(store)
  let failures = 1
  const written: number[] = []
  store.recordClicks = async (clicks: ClickRecord[]) => {
    if (failures-- > 0) throw new Error('SQLITE_BUSY: database is locked')
    written.push(clicks.length)
    return realRecord(clicks)
  }
  const app = await startApp(t, { store, logger: false, env: { CLICK_FLUSH_INTERVAL_MS: '1000', CLICK_FLUSH_BATCH: '100000' } })
  const { key } = await createTenant(app)
  const recipients = Array.from({ length: 300 }, (_, i) => `r${i}`)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients }))
  for (let i = 0; i < 1_500; i++) await tap(app, message.recipients[i % 300].links[0])
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 1_500, 'all kept after the failure')
  for (let i = 0; i < 600; i++) await tap(app, message.recipients[i % 300].links[0])
  t.equal(app.services.recorder.depth, 2_100)
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 0)
  t.has((await stats(app, key, message.id)).clicks, { total: 2_100, unique: 300, bots: 0 })
})
