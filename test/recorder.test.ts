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
