/**
 * Sustained click writing into PostgreSQL through the service's own path: batches of
 * classified clicks handed to recordClicks (src/clicks/click-batch.ts), which reads
 * what the click rules need through the store's narrow reads and then calls
 * store.writeClicks, one batch after another as an instance's recorder does. Clicks
 * fall on 40 messages of four tenants (20,000 recipients and one or two links each):
 * first clicks and, three in ten, repeats, a twentieth bots and previews, anonymous taps, click ids,
 * 200 user agents. Writes the "PostgreSQL click writing" section of bench/RESULTS.md.
 * Not part of the service.
 *
 *   npm run bench:pg-clicks
 *
 * BENCH_PG_URL: an admin URL of the server (default postgres://postgres@127.0.0.1:5432/test);
 * a scratch database is made there and dropped at the end. BENCH_CLICKS (per run,
 * default 100,000), BENCH_CASES (clicks per batch × writers, default 500x1,5000x1,5000x2;
 * each writer is a store of its own, as an instance would be, all in this process),
 * BENCH_RUNS (default 3).
 * BENCH_PROFILE=1 also prints where a batch's time goes, per store call and statement.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import pg from 'pg'
import type { ClickRow } from '../src/click.js'
import { BurstRule } from '../src/clicks/burst.js'
import { recordClicks } from '../src/clicks/click-batch.js'
import { openPostgresStore, type PostgresStore } from '../src/db/postgres/index.js'
import type { Message } from '../src/db/store.js'
import { writeResultsSection } from './results-section.js'

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const CLICKS = Number(process.env.BENCH_CLICKS ?? 100_000)
const CASES = (process.env.BENCH_CASES ?? '500x1,5000x1,5000x2').split(',').map((text) => {
  const [batch, writers] = text.split('x').map(Number)
  return { batch: batch!, writers: writers ?? 1 }
})
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const PROFILE = process.env.BENCH_PROFILE === '1'
const TENANTS = 4
const MESSAGES_PER_TENANT = 10
const RECIPIENTS = 20_000
const TARGET = 40_000
const SECTION = '## PostgreSQL click writing'

/** A small deterministic generator, so every run writes the same kind of clicks. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const AGENTS = Array.from({ length: 200 }, (_, i) =>
  i % 2 === 0
    ? `Mozilla/5.0 (iPhone; CPU iPhone OS 17_${i % 10} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${i % 7} Mobile/15E148 Safari/604.1 (${i})`
    : `Mozilla/5.0 (Linux; Android 14; Pixel ${i % 9}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.${i}.0 Mobile Safari/537.36`,
)

async function createMessages(store: PostgresStore): Promise<Message[]> {
  const messages: Message[] = []
  const createdAt = Date.now() - 3_600_000
  for (let t = 0; t < TENANTS; t++) {
    const tenant = await store.createTenant(`ten_bench${t}`, `Bench ${t}`, createdAt)
    const domain = await store.addDomain(tenant.id, `s${t}.bench.dk`, `https://s${t}.bench.dk`, createdAt)
    for (let m = 0; m < MESSAGES_PER_TENANT; m++) {
      const n = t * MESSAGES_PER_TENANT + m
      const { message } = await store.createMessage({
        publicId: `msg_bench${n}`,
        tenantId: tenant.id,
        domainId: domain.id,
        externalId: null,
        kind: 'campaign',
        campaign: `spring-${t}`,
        variant: m % 2 ? 'A' : 'B',
        language: null,
        createdAt,
        links: Array.from({ length: n % 4 === 0 ? 1 : 2 }, (_, l) => ({
          publicId: `lnk_bench${n}_${l}`,
          code: `c${n}x${l}`,
          url: `https://shop.dk/${n}/${l}`,
        })),
        unsubscribeCode: null,
        expiresAt: null,
        text: null,
        stripScheme: false,
        utm: null,
        clickIdParam: n % 4 === 1 ? 'sl_cid' : null,
      })
      await store.addRecipients(
        message.id,
        Array.from({ length: RECIPIENTS }, (_, i) => `cust-${n}-${i}`),
      )
      messages.push({ ...message, recipientCount: RECIPIENTS })
    }
  }
  return messages
}

/** How many recipients of each message have clicked so far: the next new clicker's index. */
const clickers = new Map<number, number>()

/**
 * A recipient's click: seven in ten from someone who has not clicked the message yet
 * (while there are any), the rest again from an earlier clicker.
 */
function recipientOf(message: Message, next: () => number): number {
  const clicked = clickers.get(message.id) ?? 0
  if (clicked > 0 && (clicked === RECIPIENTS || next() < 0.3)) return Math.floor(next() * clicked)
  clickers.set(message.id, clicked + 1)
  return clicked
}

/** `count` clicks from `start` on: mostly people, some repeating, a twentieth bots and previews. */
function makeClicks(messages: Message[], count: number, start: number, next: () => number): ClickRow[] {
  const clicks: ClickRow[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const message = messages[Math.floor(next() * messages.length)]!
    const link = message.links[Math.floor(next() * message.links.length)]!
    const kind = next()
    const bot = kind < 0.03
    const preview = !bot && kind < 0.05
    const agent = bot ? 'Googlebot/2.1' : preview ? 'WhatsApp/2.23.20.0' : AGENTS[Math.floor(next() * AGENTS.length)]!
    const android = agent.includes('Android')
    clicks[i] = {
      at: start + i,
      messageId: message.id,
      linkId: link.id,
      recipientIdx: next() < 0.02 ? null : recipientOf(message, next),
      class: bot ? 'bot' : preview ? 'preview' : 'human',
      reason: bot ? 'bot_user_agent' : preview ? 'preview_user_agent' : null,
      userAgent: agent,
      network: `198.51.${Math.floor(next() * 250)}.0/24`,
      clickId: message.clickIdParam === null ? null : randomBytes(8).toString('base64url'),
      device: bot || preview ? null : 'mobile',
      os: bot || preview ? null : android ? 'Android' : 'iOS',
      browser: bot || preview ? null : android ? 'Chrome' : 'Mobile Safari',
    }
  }
  return clicks
}

/** Milliseconds per store call and per statement, summed, while PROFILE is on. */
const spent = new Map<string, number>()
function time<T>(name: string, promise: Promise<T>): Promise<T> {
  const started = performance.now()
  return promise.finally(() => spent.set(name, (spent.get(name) ?? 0) + performance.now() - started))
}

function profileStore(store: PostgresStore): PostgresStore {
  for (const method of [
    'clickMessageFacts',
    'recipientsDeliveredAt',
    'subscribedWebhooks',
    'linkSummaries',
    'recipientIdsAt',
    'writeClicks',
  ] as const) {
    const original = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store)
    Object.assign(store, { [method]: (...args: unknown[]) => time(`store.${method}`, original(...args)) })
  }
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const result = query.apply(this, args)
    const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '?')
    const name = `  sql: ${text.replace(/\s+/g, ' ').trim().slice(0, 60)}`
    return result instanceof Promise ? time(name, result) : result
  } as typeof pg.Client.prototype.query
  return store
}

/**
 * CPU seconds the database's connections have used so far, per process (Linux
 * /proc; utime + stime in clock ticks of 1/100 s). With the machine shared, CPU per
 * click is the figure that does not depend on what else runs. Autovacuum is left out:
 * it comes and goes, and a run would count it or not by chance.
 */
async function serverCpu(store: PostgresStore, database: string): Promise<Map<number, number>> {
  const { rows } = await store.pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
    [database],
  )
  const cpu = new Map<number, number>()
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100)
    } catch {
      // Not on Linux, or the process is gone.
    }
  }
  return cpu
}

function cpuUsed(before: Map<number, number>, after: Map<number, number>): number {
  let seconds = 0
  for (const [pid, cpu] of after) seconds += cpu - (before.get(pid) ?? 0)
  return seconds
}

async function main() {
  const name = `smslinks_bench_clicks_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  const server = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const store = await openPostgresStore(url.toString())
  const others: PostgresStore[] = []
  try {
    const messages = await createMessages(store)
    if (PROFILE) profileStore(store)
    const writers = [{ store, rules: new BurstRule({ tooFastMs: 2_000, burstWindowMs: 10_000, maxTokens: 100_000 }) }]
    while (writers.length < Math.max(...CASES.map((c) => c.writers))) {
      const other = await openPostgresStore(url.toString())
      others.push(other)
      writers.push({
        store: other,
        rules: new BurstRule({ tooFastMs: 2_000, burstWindowMs: 10_000, maxTokens: 100_000 }),
      })
    }
    const next = random(42)
    const load = loadavg()[0]!
    let start = Date.now()
    const rows: string[] = []
    for (const { batch, writers: writerCount } of CASES) {
      const rates: number[] = []
      const cpu: string[] = []
      for (let run = 0; run < RUNS; run++) {
        const clicks = makeClicks(messages, CLICKS, start, next)
        start += CLICKS
        spent.clear()
        const serverBefore = await serverCpu(store, name)
        const nodeBefore = process.cpuUsage()
        const started = performance.now()
        // Each writer takes every writerCount-th batch, one after another, as a recorder does.
        await Promise.all(
          writers.slice(0, writerCount).map(async (writer, w) => {
            for (let from = w * batch; from < clicks.length; from += batch * writerCount) {
              await recordClicks(writer.store, clicks.slice(from, from + batch), writer.rules)
            }
          }),
        )
        const seconds = (performance.now() - started) / 1000
        const node = process.cpuUsage(nodeBefore)
        const server = cpuUsed(serverBefore, await serverCpu(store, name))
        const nodeMicros = ((node.user + node.system) / CLICKS).toFixed(1)
        const serverMicros = ((server * 1e6) / CLICKS).toFixed(1)
        rates.push(CLICKS / seconds)
        cpu.push(`${nodeMicros} + ${serverMicros}`)
        console.log(
          `batches of ${batch} × ${writerCount} writers, run ${run + 1}: ${Math.round(CLICKS / seconds)} clicks/s; ` +
            `CPU per click: Node ${nodeMicros} µs, PostgreSQL ${serverMicros} µs`,
        )
        if (PROFILE) {
          const batches = Math.ceil(CLICKS / batch)
          for (const [what, ms] of [...spent].sort((a, b) => b[1] - a[1])) {
            console.log(`  ${what}: ${(ms / batches).toFixed(2)} ms per batch`)
          }
        }
      }
      const median = [...rates].sort((a, b) => a - b)[Math.floor(RUNS / 2)]!
      rows.push(
        `| ${batch.toLocaleString('en')} | ${writerCount} | ${rates.map((r) => Math.round(r).toLocaleString('en')).join(' / ')} | ` +
          `${Math.round(median).toLocaleString('en')} | ${cpu.join(' / ')} | ${median >= TARGET ? 'met' : '**missed**'} |`,
      )
    }
    const loadAfter = loadavg()[0]!
    const stored = await store.pool.query<{ n: number }>('SELECT count(*) AS n FROM clicks')
    if (stored.rows[0]!.n !== CLICKS * RUNS * CASES.length) throw new Error('clicks missing')
    const section = [
      SECTION,
      '',
      `Written by \`npm run bench:pg-clicks\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ` +
        `${cpus()[0]!.model.trim()}, Node ${process.version}, PostgreSQL ${server} on 127.0.0.1 with its default ` +
        `settings. Load average ${load.toFixed(1)} when timing began, ${loadAfter.toFixed(1)} at the end (the ` +
        'machine is shared: a figure from a loaded run is a floor).',
      '',
      `${CLICKS.toLocaleString('en')} clicks per run through \`recordClicks\` → \`store.writeClicks\`, one batch ` +
        `after another (with two writers, each its own store, as two instances), ${RUNS} runs per case: ${TENANTS * MESSAGES_PER_TENANT} messages of ` +
        `${RECIPIENTS.toLocaleString('en')} recipients (one or two links), 7 in 10 clicks a recipient's first on its message, 3 in 10 repeats, 3 % bots, ` +
        '2 % previews, 2 % anonymous, click ids on a quarter of the messages, 200 user agents; too_fast and ' +
        'burst rules on. Target: ≥ 40,000 clicks/s.',
      '',
      '| clicks per batch | writers | runs (clicks/s) | median | CPU per click, Node + PostgreSQL (µs) | target |',
      '|---:|---:|---|---:|---|---|',
      ...rows,
      '',
    ].join('\n')
    writeResultsSection(SECTION, section)
    console.log(section)
  } finally {
    for (const other of others) await other.close()
    await store.close()
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}

await main()
