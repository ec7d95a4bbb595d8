/**
 * `npm run bench:outage`: redirects under a steady load while PostgreSQL is cut off
 * for a while, then how many taps were counted once it is back (bench/README.md).
 *
 * The service (src/server.ts through tsx) reaches PostgreSQL through a TCP proxy in
 * this process (test/fixtures/tcp-proxy.ts); "cut" destroys every piped connection and
 * refuses new ones while the server behind stays up. One link is tapped first so it is
 * in the service's cache; then BENCH_OUTAGE_RATE taps a second (1000) go to random
 * recipients for BENCH_OUTAGE_BEFORE s (3), through a cut of BENCH_OUTAGE_SECONDS s
 * (30) and BENCH_OUTAGE_AFTER s (3) after it. Writes its section of bench/RESULTS.md.
 *
 * BENCH_DATABASE_URL names the server (default: the local one, postgres://postgres@127.0.0.1:5432/test);
 * the bench makes a database of its own there and drops it at the end.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from '../test/fixtures/server-process.js'
import { startTcpProxy } from '../test/fixtures/tcp-proxy.js'
import { writeResultsSection } from './results-section.js'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const RATE = env('BENCH_OUTAGE_RATE', 1000)
const BEFORE_S = env('BENCH_OUTAGE_BEFORE', 3)
const OUTAGE_S = env('BENCH_OUTAGE_SECONDS', 30)
const AFTER_S = env('BENCH_OUTAGE_AFTER', 3)
const RECIPIENTS = 10_000
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SECTION = '## PostgreSQL: redirects through an outage'

const agent = new Agent({ keepAlive: true, maxSockets: 64 })

/** One GET on keep-alive; its status and how long it took (ms). */
function get(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { 'user-agent': 'Mozilla/5.0 (iPhone) Safari/604.1' } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }))
    })
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }))
    req.end()
  })
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: SERVER_URL })
  await admin.connect()
  const serverVersion = ((await admin.query('SHOW server_version')).rows[0] as { server_version: string })
    .server_version
  const name = `smslinks_outage_${randomBytes(4).toString('hex')}`
  await admin.query(`CREATE DATABASE ${name}`)
  const target = new URL(SERVER_URL)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  const databaseUrl = new URL(SERVER_URL)
  databaseUrl.port = String(proxy.port)
  databaseUrl.pathname = `/${name}`
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl.toString(),
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      METRICS_PORT: 'off',
      ADMIN_TOKEN: '',
      TOO_FAST_MS: '0',
      // Every tap comes from this one address; the per-address limit would leave most uncounted.
      REDIRECT_RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    let output = ''
    server.stdout.setEncoding('utf8')
    const key = await new Promise<string>((resolve, reject) => {
      server.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)))
      server.stdout.on('data', (chunk: string) => {
        if (output.length < 100_000) output += chunk
        const match = /"apiKey":"(sl_\w+)"/.exec(output)
        if (match && output.includes('Server listening')) resolve(match[1]!)
      })
    })
    const api = async (path: string, body?: object) => {
      const response = await fetch(`${base}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      })
      return { status: response.status, body: (await response.json()) as any }
    }
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `r${i}`)
    const { body: message } = await api('/v1/messages', { links: [{ url: 'https://shop.dk/sale' }], recipients })
    const links: string[] = message.recipients.map((r: { links: string[] }) => r.links[0])
    await get(links[0]!)
    let taps = 1

    type Phase = 'before' | 'outage' | 'after'
    const results: Record<Phase, Array<{ status: number; ms: number }>> = { before: [], outage: [], after: [] }
    const inFlight: Array<Promise<void>> = []
    const phases: Array<[Phase, number]> = [
      ['before', BEFORE_S],
      ['outage', OUTAGE_S],
      ['after', AFTER_S],
    ]
    let restoredAt = 0
    let readyAgain: Promise<number> = Promise.resolve(-1)
    const tick = 10
    const load = loadavg()[0]!
    for (const [phase, seconds] of phases) {
      if (phase === 'outage') proxy.cut()
      if (phase === 'after') {
        proxy.restore()
        restoredAt = performance.now()
        readyAgain = (async () => {
          while ((await fetch(`${base}/readyz`)).status !== 200) await sleep(50)
          return performance.now() - restoredAt
        })()
      }
      const end = performance.now() + seconds * 1000
      let sent = 0
      const started = performance.now()
      while (performance.now() < end) {
        const due = Math.floor(((performance.now() - started) / 1000) * RATE)
        for (; sent < due; sent++) {
          taps++
          inFlight.push(
            get(links[Math.floor(Math.random() * links.length)]!).then((result) => void results[phase].push(result)),
          )
        }
        await sleep(tick)
      }
    }
    await Promise.all(inFlight)
    const readyAfterMs = await readyAgain
    let counted = 0
    const deadline = performance.now() + 60_000
    while (performance.now() < deadline) {
      const stats = await api(`/v1/messages/${message.id}/stats`)
      if (stats.status === 200) counted = stats.body.clicks.total
      if (counted >= taps) break
      await sleep(100)
    }
    const writtenAfterMs = performance.now() - restoredAt
    const row = (phase: Phase, label: string) => {
      const list = results[phase]
      const redirected = list.filter((r) => r.status === 302).length
      const ms = list.map((r) => r.ms)
      return `| ${label} | ${list.length} | ${redirected} | ${list.length - redirected} | ${percentile(ms, 50).toFixed(1)} ms | ${percentile(ms, 99).toFixed(1)} ms |`
    }
    const section = [
      SECTION,
      '',
      `Written by \`npm run bench:outage\` on ${new Date().toISOString().slice(0, 10)}: the service (through tsx) on ` +
        `PostgreSQL ${serverVersion} at 127.0.0.1, reached through a TCP proxy in the bench that cuts every connection ` +
        `and refuses new ones for ${OUTAGE_S} s, under a steady ${RATE} taps a second on random recipients of one ` +
        `cached link (keep-alive, one client). Load average at the start: ${load.toFixed(1)} on ${cpus().length} ` +
        'cores (a loaded machine: the latencies say more about the machine than about the service).',
      '',
      '| phase | taps | 302 | other | p50 | p99 |',
      '|---|--:|--:|--:|--:|--:|',
      row('before', `${BEFORE_S} s`),
      row('outage', `${OUTAGE_S} s, cut off`),
      row('after', `${AFTER_S} s, restored`),
      '',
      `Taps sent: ${taps.toLocaleString('en')}; clicks counted afterwards: ${counted.toLocaleString('en')}; ` +
        `**lost: ${(taps - counted).toLocaleString('en')}**. \`/readyz\` answered 200 again ` +
        `${(readyAfterMs / 1000).toFixed(1)} s after the restore; the last tap was written at most ` +
        `${(writtenAfterMs / 1000).toFixed(1)} s after it (its last ${AFTER_S} s still under load).`,
      '',
    ].join('\n')
    console.log(section)
    writeResultsSection(SECTION, section)
  } finally {
    server.kill('SIGTERM')
    await once(server, 'exit').catch(() => undefined)
    agent.destroy()
    await proxy.close()
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}

await main()
