import { statSync } from 'node:fs'
import t from 'tap'
import { createTenant, postMessage, startApp, tempDatabasePath } from '../helpers.js'

/** SQLite's page size, which the service keeps. */
const PAGE_BYTES = 4096
const MESSAGES = 12
const RECIPIENTS = 20_000
/** SQLite's own checkpoints start at 1,000 pages; the thread's run every 100 ms. */
const WAL_BOUND_PAGES = 3_500

t.test('with a click writer thread, the WAL stays small while only the API writes', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, {
    databasePath,
    clickWriter: 'thread',
    env: {
      // Every recipient is stored on the service's own connection, which leaves
      // checkpoints to a thread of their own (docs/adr/0089).
      RECIPIENTS_THREAD_MIN_BYTES: '0',
    },
  })
  const { key } = await createTenant(app)
  const walPages = () => (statSync(`${databasePath}-wal`, { throwIfNoEntry: false })?.size ?? 0) / PAGE_BYTES
  let largest = 0
  const watch = setInterval(() => (largest = Math.max(largest, walPages())), 5)
  t.teardown(() => clearInterval(watch))
  for (let m = 0; m < MESSAGES; m++) {
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `customer-${m}-${i}`)
    const response = await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients })
    t.equal(response.statusCode, 201)
  }
  clearInterval(watch)
  // The calls write about 7,000 pages: unchecked, the WAL would hold them all.
  t.ok(largest < WAL_BOUND_PAGES, `the WAL stayed under ${WAL_BOUND_PAGES} pages (largest ${Math.round(largest)})`)
})
