import Database from 'better-sqlite3'
import t from 'tap'
import { SqliteStore } from '../../src/db/sqlite/index.js'
import type { ClickWrite } from '../../src/db/store.js'
import { createTenant, json, postMessage, startApp, stats, tap, tempDatabasePath, UA } from '../helpers.js'

t.test('a full click queue still redirects every tap, and counts only what it kept', async (t) => {
  const app = await startApp(t, { env: { CLICK_QUEUE_MAX: '2' } })
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }),
  )
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
  const realWrite = store.writeClicks.bind(store)
  store.writeClicks = async (write: ClickWrite) => {
    if (failures-- > 0) throw new Error('SQLITE_BUSY: database is locked')
    return realWrite(write)
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
    await postMessage(app, key, {
      links: [{ url: 'https://shop.dk' }],
      recipients: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    }),
  )
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  const figures = await stats(app, key, message.id)
  t.has(figures.clicks, { total: 7, unique: 7, bots: 0, previews: 0 })
})

t.test('a failed batch goes back in front of the clicks queued meanwhile, none lost or counted twice', async (t) => {
  const store = SqliteStore.open(tempDatabasePath(t))
  const realWrite = store.writeClicks.bind(store)
  let failures = 1
  const written: number[] = []
  store.writeClicks = async (write: ClickWrite) => {
    if (failures-- > 0) throw new Error('SQLITE_BUSY: database is locked')
    written.push(write.clicks.length)
    return realWrite(write)
  }
  const app = await startApp(t, {
    store,
    logger: false,
    env: { CLICK_FLUSH_INTERVAL_MS: '1000', CLICK_FLUSH_BATCH: '100000' },
  })
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

t.test('a backlog that outgrows the queue while a batch is being written keeps every click as tapped', async (t) => {
  const path = tempDatabasePath(t)
  const store = SqliteStore.open(path)
  const realWrite = store.writeClicks.bind(store)
  // The first batch's write waits until the test lets it go: meanwhile the queue,
  // its front already taken, fills up, moves and grows under the taps that follow.
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let calls = 0
  store.writeClicks = async (write: ClickWrite) => {
    if (calls++ === 0) await held
    return realWrite(write)
  }
  const app = await startApp(t, { store, logger: false, env: { CLICK_FLUSH_BATCH: '2000' } })
  const { key } = await createTenant(app)
  const recipients = Array.from({ length: 40 }, (_, i) => `r${i}`)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], clickIdParam: 'cid', recipients }),
  )
  const agents = [...Object.values(UA), null]
  const expected: Array<{ clickId: string; recipientIdx: number; ua: string | null; network: string }> = []
  for (let i = 0; i < 9_000; i++) {
    const recipientIdx = i % 40
    const ua = agents[i % agents.length]!
    const [address, network] =
      i % 11 === 0
        ? [`2001:db8:${(i % 97).toString(16)}::1`, `2001:db8:${(i % 97).toString(16)}::/48`]
        : [`198.51.${i % 200}.9`, `198.51.${i % 200}.0/24`]
    const location = (await tap(app, message.recipients[recipientIdx].links[0], { userAgent: ua, address })).headers
      .location as string
    expected.push({ clickId: new URL(location).searchParams.get('cid')!, recipientIdx, ua, network })
  }
  t.ok(app.services.recorder.depth > 8_192, 'more clicks wait than the queue first had room for')
  release()
  await app.services.recorder.flush()
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 0)
  t.ok(calls >= 5, 'written in batches of 2,000 at most')

  const check = new Database(path, { readonly: true })
  t.teardown(() => check.close())
  const stored = check
    .prepare(
      `SELECT c.click_id AS clickId, c.recipient_idx AS recipientIdx, u.ua, c.network
       FROM clicks c LEFT JOIN user_agents u ON u.id = c.user_agent_id ORDER BY c.id`,
    )
    .all()
  t.equal(stored.length, 9_000)
  t.same(stored, expected, 'each click with its own id, recipient, user agent and network, in the order tapped')
})

t.test('a retried batch whose first commit went through but whose reply was lost counts once', async (t) => {
  const app = await startApp(t, { backend: 'postgres', logger: false })
  const store = app.services.store
  const realWrite = store.writeClicks.bind(store)
  let lostReplies = 1
  store.writeClicks = async (write: ClickWrite) => {
    await realWrite(write)
    // Committed, but the connection broke before the reply came: the writer cannot tell.
    if (lostReplies-- > 0) throw new Error('Connection terminated unexpectedly')
  }
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  await tap(app, message.recipients[0].links[0])
  await tap(app, message.recipients[1].links[0])
  await tap(app, message.recipients[1].links[0])
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 3, 'kept for a retry')
  const figures = await stats(app, key, message.id)
  t.equal(app.services.recorder.depth, 0)
  t.has(figures.clicks, { total: 3, unique: 2 }, 'the retry found its batch written')
  t.equal(app.services.recorder.written, 3)
})

t.test('a batch the database refuses for what it holds is given up, and the clicks after it are written', async (t) => {
  const app = await startApp(t, { logger: false })
  const store = app.services.store
  const realWrite = store.writeClicks.bind(store)
  let refusals = 0
  store.writeClicks = async (write: ClickWrite) => {
    if (write.clicks.some((click) => click.recipientIdx === 0)) {
      refusals++
      throw Object.assign(new Error('insert or update violates a foreign key constraint'), { code: '23503' })
    }
    return realWrite(write)
  }
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  await tap(app, message.recipients[0].links[0])
  for (let i = 0; i < 3; i++) await app.services.recorder.flush()
  t.equal(refusals, 3, 'tried a few times')
  t.equal(app.services.recorder.dropped, 1, 'then given up, and counted as dropped')
  await tap(app, message.recipients[1].links[0])
  t.has((await stats(app, key, message.id)).clicks, { total: 1, unique: 1 }, 'the queue moves on')
})
