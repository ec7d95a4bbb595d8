import Database from 'better-sqlite3'
import { once } from 'node:events'
import t from 'tap'
import { tempDatabasePath, UA } from '../helpers.js'
import { startServer } from '../fixtures/server-process.js'
import { eventually } from '../fixtures/webhook-receiver.js'

const FLUSH_INTERVAL_MS = 50
/**
 * A tap acknowledged longer ago than this before the kill must be stored: one flush
 * interval plus generous room for a shared, noisy machine (timer drift, a slow batch).
 * The measured figure below is what the README reports; this bound only guards it.
 */
const MUST_BE_STORED_AFTER_MS = FLUSH_INTERVAL_MS + 1000
const RECIPIENTS = 200
const CONCURRENCY = 8
const LOAD_MS = 2000

t.test(
  'SIGKILL under load: restart opens cleanly, links work, at most one flush window of clicks is lost',
  async (t) => {
    const databasePath = tempDatabasePath(t)
    const env = {
      CLICK_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS),
      // The suite's other files keep this machine's cores busy: at nice 19 the writer
      // would wait behind them with the taps queued, and a kill loses the whole queue
      // (docs/security.md). This test is about what a kill loses while the writer keeps up.
      CLICK_WRITER_NICE: '0',
    }
    const first = await startServer(t, databasePath, env)
    const created = await fetch(`${first.base}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }],
        recipients: Array.from({ length: RECIPIENTS }, (_, i) => `r${i}`),
      }),
    })
    t.equal(created.status, 201)
    const message = (await created.json()) as { id: string; recipients: Array<{ links: string[] }> }
    const links = message.recipients.flatMap((r) => r.links)

    // Each tap carries its number in the user agent, so we know exactly which were stored.
    const acknowledgedAt = new Map<number, number>()
    let next = 0
    let killed = false
    const send = async (n: number) => {
      const response = await fetch(links[n % links.length]!, {
        redirect: 'manual',
        headers: { 'user-agent': `${UA.androidChrome} tap/${n}` },
      })
      await response.arrayBuffer()
      if (response.status === 302) acknowledgedAt.set(n, Date.now())
    }
    const worker = async () => {
      while (!killed) {
        try {
          await send(next++)
        } catch {
          // The server is gone: this tap was never acknowledged.
        }
      }
    }
    // The first tap starts the click writer thread; the load begins once it has stored
    // that tap, so that a slow thread start on a busy machine is not taken for lost taps.
    await send(next++)
    const reader = new Database(databasePath, { readonly: true })
    await eventually(
      t,
      'the first tap is stored',
      () => reader.prepare('SELECT 1 FROM clicks').get() !== undefined,
      60_000,
    )
    reader.close()
    const workers = Array.from({ length: CONCURRENCY }, worker)
    await new Promise((resolve) => setTimeout(resolve, LOAD_MS))
    const killAt = Date.now()
    first.child.kill('SIGKILL')
    killed = true
    await once(first.child, 'exit')
    await Promise.all(workers)
    t.ok(acknowledgedAt.size > 100, `taps acknowledged under load (${acknowledgedAt.size})`)

    const second = await startServer(t, databasePath, env, Number(new URL(first.base).port))
    const db = new Database(databasePath)
    t.teardown(() => db.close())
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database is intact')
    const stored = new Set(
      (
        db.prepare('SELECT u.ua FROM clicks c JOIN user_agents u ON u.id = c.user_agent_id').pluck().all() as string[]
      ).map((ua) => Number(/tap\/(\d+)$/.exec(ua)![1])),
    )
    const counters = db.prepare('SELECT clicks_total AS total, clicks_bots AS bots FROM message_counters').get() as {
      total: number
      bots: number
    }
    t.equal(counters.total, stored.size, 'counters agree with the stored clicks: each batch was all or nothing')
    t.equal(counters.bots, 0)

    const lost = [...acknowledgedAt].filter(([n]) => !stored.has(n))
    const oldLost = lost.filter(([, at]) => at < killAt - MUST_BE_STORED_AFTER_MS)
    t.same(oldLost, [], `every tap acknowledged more than ${MUST_BE_STORED_AFTER_MS} ms before the kill is stored`)
    const oldestLostMs = lost.length === 0 ? 0 : Math.max(...lost.map(([, at]) => killAt - at))
    const perSecond = Math.round(acknowledgedAt.size / (LOAD_MS / 1000))
    t.comment(
      `SIGKILL after ${acknowledgedAt.size} acknowledged taps (~${perSecond}/s, flush interval ${FLUSH_INTERVAL_MS} ms): ` +
        `${stored.size} stored, ${lost.length} lost; the oldest lost tap was acknowledged ${oldestLostMs} ms before the kill`,
    )
    t.ok(stored.size <= next, 'nothing stored that was not sent')

    // Every link still redirects after the restart.
    let redirected = 0
    for (const link of links) {
      const response = await fetch(link, { redirect: 'manual', headers: { 'user-agent': UA.iphoneSafari } })
      await response.arrayBuffer()
      if (response.status === 302) redirected++
    }
    t.equal(redirected, links.length, 'every link works after the restart')
    second.child.kill('SIGTERM')
    const [code] = await once(second.child, 'exit')
    t.equal(code, 0)
  },
)
