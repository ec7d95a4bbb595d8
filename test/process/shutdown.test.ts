import Database from 'better-sqlite3'
import { once } from 'node:events'
import t from 'tap'
import { tempDatabasePath, UA } from '../helpers.js'
import { startServer } from '../fixtures/server-process.js'
import { eventually } from '../fixtures/webhook-receiver.js'

t.test('SIGTERM stops the server only after every acknowledged click is stored', async (t) => {
  const databasePath = tempDatabasePath(t)
  const { child, base, apiKey } = await startServer(t, databasePath, {
    // The longest interval allowed: the clicks are still queued when SIGTERM comes.
    CLICK_FLUSH_INTERVAL_MS: '1000',
    CLICK_FLUSH_BATCH: '100000',
  })
  const key = apiKey!

  const created = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      links: [{ url: 'https://shop.dk/' }],
      recipients: Array.from({ length: 100 }, (_, i) => `r${i}`),
    }),
  })
  const message = (await created.json()) as { recipients: Array<{ links: string[] }> }

  const taps = 300
  let redirected = 0
  for (let i = 0; i < taps; i++) {
    const response = await fetch(message.recipients[i % 100]!.links[0]!, {
      redirect: 'manual',
      headers: { 'user-agent': UA.androidChrome },
    })
    if (response.status === 302) redirected++
    await response.arrayBuffer()
  }
  t.equal(redirected, taps, 'every tap was redirected')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'clean exit')

  const db = new Database(databasePath, { readonly: true })
  t.teardown(() => db.close())
  const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n
  t.equal(count('SELECT count(*) AS n FROM clicks'), taps, 'every click was stored')
  t.same(
    db
      .prepare('SELECT clicks_total AS total, clicks_unique AS "unique", clicks_bots AS bots FROM message_counters')
      .get(),
    { total: taps, unique: 100, bots: 0 },
  )
  t.equal(count("SELECT count(*) AS n FROM clicks WHERE network = '127.0.0.0/24'"), taps, 'only the /24 is kept')
})

t.test('clicks still judged at SIGTERM stay pending and settle after the next start', async (t) => {
  const databasePath = tempDatabasePath(t)
  const env = {
    SWEEP_MIN_RECIPIENTS: '8',
    SWEEP_SPAN_MS: '1000',
    CLICK_FLUSH_INTERVAL_MS: '1000',
    CLICK_FLUSH_BATCH: '100000',
  }
  const first = await startServer(t, databasePath, env)
  const created = await fetch(`${first.base}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.apiKey!}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      links: [{ url: 'https://shop.dk/' }],
      recipients: Array.from({ length: 20 }, (_, i) => `r${i}`),
    }),
  })
  const message = (await created.json()) as { recipients: Array<{ links: string[] }> }
  // A scanner: one address, one user agent, every recipient in quick succession.
  for (const recipient of message.recipients) {
    const response = await fetch(recipient.links[0]!, {
      redirect: 'manual',
      headers: { 'user-agent': UA.androidChrome },
    })
    await response.arrayBuffer()
  }
  first.child.kill('SIGTERM')
  await once(first.child, 'exit')
  const counters = () => {
    const db = new Database(databasePath, { readonly: true })
    try {
      return db
        .prepare('SELECT clicks_total AS total, clicks_bots AS bots, clicks_pending AS pending FROM message_counters')
        .get() as { total: number; bots: number; pending: number }
    } finally {
      db.close()
    }
  }
  const stopped = counters()
  t.equal(stopped.total + stopped.bots + stopped.pending, 20, 'every tap stored, pending or settled')

  const port = Number(new URL(first.base).port)
  await startServer(t, databasePath, env, port)
  await eventually(t, 'the pending clicks settle', () => counters().pending === 0)
  t.same(counters(), { total: 0, bots: 20, pending: 0 }, 'all twenty judged a sweep')
})
