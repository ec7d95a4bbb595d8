/**
 * CPU time per message creation, measured in-process: a service on a temp SQLite
 * file, one tenant, and N sequential single-recipient text messages through
 * `app.inject()` (the whole Fastify request: auth, rate limit, validation, handler,
 * serialisation). CPU time, not wall time, so the figure holds on a loaded machine.
 * Then the event loop's longest stretch during a few 100,000-recipient creations, in
 * the main thread's CPU time between two runs of a 1 ms timer (Linux: from
 * /proc/thread-self/schedstat, so the recipients thread's work is not counted), and its
 * wall-clock delay.
 *
 * Environment: CREATIONS (3000), BIG_CREATIONS (3), BIG_RECIPIENTS (100000),
 * RECIPIENTS_THREAD_MIN_BYTES (the service's setting; 0 keeps large calls on the event loop).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { injectTenant } from './inject-tenant.js'

const CREATIONS = Number(process.env.CREATIONS ?? 3000)
const BIG_CREATIONS = Number(process.env.BIG_CREATIONS ?? 3)
const BIG_RECIPIENTS = Number(process.env.BIG_RECIPIENTS ?? 100_000)
const ADMIN = 'bench-admin-token-0123456789'

/** The main thread's CPU time in ms: its run time from schedstat (ns); the process's where there is none. */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
  } catch {
    const used = process.cpuUsage()
    return (used.user + used.system) / 1000
  }
}

const dir = mkdtempSync(join(tmpdir(), 'smslinks-cpu-'))
const app = await buildApp(
  loadConfig({
    ADMIN_TOKEN: ADMIN,
    DATABASE_PATH: join(dir, 'cpu.db'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    ...(process.env.RECIPIENTS_THREAD_MIN_BYTES === undefined
      ? {}
      : { RECIPIENTS_THREAD_MIN_BYTES: process.env.RECIPIENTS_THREAD_MIN_BYTES }),
  }),
  { clickWriter: 'inline' },
)
const key = await injectTenant(app, { authorization: `Bearer ${ADMIN}` })
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }

async function createSmall(n: number): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers,
    payload: JSON.stringify({
      kind: 'transactional',
      text: `Your order ${n} has shipped. Track it: https://shop.example.dk/track/${n}`,
      recipients: [`+45${String(20_000_000 + n)}`],
    }),
  })
  if (response.statusCode !== 201) throw new Error(`${response.statusCode} ${response.body}`)
}

for (let n = 0; n < 300; n++) await createSmall(n)
const before = process.cpuUsage()
const wallBefore = performance.now()
for (let n = 300; n < 300 + CREATIONS; n++) await createSmall(n)
const cpu = process.cpuUsage(before)
const wall = performance.now() - wallBefore
const perCreation = (cpu.user + cpu.system) / CREATIONS
console.log(
  JSON.stringify({
    creations: CREATIONS,
    cpuMicrosPerCreation: Math.round(perCreation),
    userMicros: Math.round(cpu.user / CREATIONS),
    systemMicros: Math.round(cpu.system / CREATIONS),
    wallMsPerCreation: Math.round((wall / CREATIONS) * 1000) / 1000,
    loadAverage: loadavg()[0],
  }),
)

if (BIG_CREATIONS > 0) {
  // The bodies are built before the clock starts: building them is the caller's work.
  const payloads = Array.from({ length: BIG_CREATIONS }, (_, round) =>
    JSON.stringify({
      links: [{ url: 'https://shop.example.dk/sale' }],
      recipients: Array.from({ length: BIG_RECIPIENTS }, (_, i) => `cust-${round}-${String(i).padStart(8, '0')}`),
    }),
  )
  const delay = monitorEventLoopDelay({ resolution: 1 })
  // The main thread's CPU time between two timer runs: the longest stretch without the
  // time it waited for a core, which on a busy machine is most of the wall-clock delay.
  let longest = 0
  let last = mainThreadCpuMs()
  const ticker = setInterval(() => {
    const now = mainThreadCpuMs()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  const mainBefore = mainThreadCpuMs()
  delay.enable()
  const bigBefore = process.cpuUsage()
  for (const payload of payloads) {
    // Read as a stream, as a socket would take it: inject() would otherwise join the 8 MB answer at once.
    const response = await app.inject({ method: 'POST', url: '/v1/messages', headers, payload, payloadAsStream: true })
    let bytes = 0
    for await (const chunk of response.stream()) bytes += (chunk as Buffer).length
    if (response.statusCode !== 201 || bytes < BIG_RECIPIENTS) throw new Error(`${response.statusCode}, ${bytes} bytes`)
  }
  const bigCpu = process.cpuUsage(bigBefore)
  const mainCpuMs = mainThreadCpuMs() - mainBefore
  delay.disable()
  clearInterval(ticker)
  console.log(
    JSON.stringify({
      bigCreations: BIG_CREATIONS,
      recipients: BIG_RECIPIENTS,
      cpuMsPerCreation: Math.round((bigCpu.user + bigCpu.system) / BIG_CREATIONS / 1000),
      mainThreadCpuMsPerCreation: Math.round(mainCpuMs / BIG_CREATIONS),
      loopDelayMaxMs: Math.round(delay.max / 1e4) / 100,
      loopDelayP99Ms: Math.round(delay.percentile(99) / 1e4) / 100,
      longestStretchCpuMs: Math.round(longest * 10) / 10,
      loadAverage: loadavg()[0],
    }),
  )
}
await app.close()
rmSync(dir, { recursive: true, force: true })
