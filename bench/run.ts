/**
 * `npm run bench`: the redirect against the bare-Fastify ceiling, plus the
 * creation, stats and memory targets (bench/README.md). Writes bench/RESULTS.md.
 *
 * How it loads: the service (built, `node dist/server.js`) and a bare Fastify 5
 * redirect server are pinned to core 0 with taskset; wrk runs pinned to core 1
 * with a Lua script that requests a random recipient link on every request.
 * They are loaded alternately (A B A B A B), never at the same time. wrk's own
 * CPU use is recorded to show the loader was not the limit. The service's click
 * writer thread runs on the same core; after each service run the bench waits until
 * the clicks queued during it are written, and reports how long that took.
 *
 * Environment (for quicker runs): BENCH_RECIPIENTS (1000000), BENCH_DURATION (10 s
 * per round), BENCH_ROUNDS (5), BENCH_CONNECTIONS (64), BENCH_STATS_CLICKS (10000000), BENCH_NODE_ARGS,
 * BENCH_STEADY_RATE (4000 taps a second in the mixed and transactional scenarios).
 *
 * BENCH_DATABASE_URL (a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test)
 * runs the service on a fresh database there instead of SQLite, measures only the
 * redirect rounds against bare Fastify, and writes the "PostgreSQL: redirects" section of
 * RESULTS.md, leaving the rest of the file as it is. The database is dropped afterwards.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { EVENT_LOOP_SAMPLE_MS } from '../src/operations/metrics.js'
import { fillClicks } from './fill-clicks.js'
import { writeResultsSection } from './results-section.js'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const RECIPIENTS = env('BENCH_RECIPIENTS', 1_000_000)
const PER_CALL = 100_000
const DURATION = env('BENCH_DURATION', 10)
const ROUNDS = env('BENCH_ROUNDS', 5)
const CONNECTIONS = env('BENCH_CONNECTIONS', 64)
const STATS_CLICKS = env('BENCH_STATS_CLICKS', 10_000_000)
const POSTGRES = process.env.BENCH_DATABASE_URL || null
const POSTGRES_SECTION = '## PostgreSQL: redirects with every tap written'
/**
 * The service runs as `npm start` runs it: with the node flags of package.json's start
 * script (its heap settings, docs/adr/0064), and any extra ones from BENCH_NODE_ARGS, e.g.
 * `--cpu-prof --cpu-prof-dir=bench/out/prof` to profile it under load.
 */
const START_FLAGS = startScriptFlags()
const EXTRA_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
const NODE_ARGS = [...START_FLAGS, ...EXTRA_ARGS]
const SERVER_CORE = '0'
const LOADER_CORE = '1'
const SERVICE_PORT = 3901
const BARE_PORT = 3902
const METRICS_PORT = 3903
const OUT = 'bench/out'
const DB = `${OUT}/bench.db`
const PATHS = `${OUT}/paths.txt`
const ADMIN = 'bench-admin-token-0123456789'
const SERVICE = `http://127.0.0.1:${SERVICE_PORT}`
/** The service's metrics listener (METRICS_PORT, on loopback): /metrics is not on the main port. */
const METRICS = `http://127.0.0.1:${METRICS_PORT}/metrics`

/** The flags between `node` and `dist/server.js` in package.json's start script. */
function startScriptFlags(): string[] {
  const start: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start
  const match = /^node((?: --[\w-]+(?:=\S+)?)*) dist\/server\.js$/.exec(start)
  if (match === null) throw new Error(`package.json's start script is not "node [flags] dist/server.js": ${start}`)
  return match[1]!.split(' ').filter(Boolean)
}

function need(command: string, hint: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
  } catch {
    throw new Error(`${command} is missing: ${hint}`)
  }
}

const children: ChildProcess[] = []
function start(command: string[], extraEnv: Record<string, string>): ChildProcess {
  const child = spawn('taskset', ['-c', SERVER_CORE, ...command], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.push(child)
  return child
}
function stopAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
}
process.on('exit', stopAll)
process.on('SIGINT', () => process.exit(130))

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).status < 500) return
    } catch {
      // not listening yet: try again after a pause
    }
    await sleep(100)
  }
  throw new Error(`${url} did not come up`)
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<any> {
  const response = await fetch(`${SERVICE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.json()
}

/** Resident memory of a process in MB: now (VmRSS) and the high-water mark since start (VmHWM). */
function memory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) }
}

interface WrkResult {
  rps: number
  p50: number
  p99: number
  errors: number
  non3xx: number
  loaderCpu: number
}

const ms = (value: string, unit: string) =>
  Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]!

/**
 * One wrk run from the loader core; its CPU share comes from the shell's child times.
 * While it runs, the watched process's RSS is sampled every 100 ms.
 */
async function wrk(port: number, seconds: number, watch?: number): Promise<WrkResult & { maxRssMb: number }> {
  const script =
    `taskset -c ${LOADER_CORE} wrk -t1 -c${CONNECTIONS} -d${seconds}s --latency -s bench/random-paths.lua ` +
    `http://127.0.0.1:${port}/; cat /proc/$$/stat`
  const child = spawn('sh', ['-c', script], {
    env: { ...process.env, PATHS_FILE: PATHS },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  let maxRssMb = 0
  const sampler = setInterval(() => {
    if (watch !== undefined) maxRssMb = Math.max(maxRssMb, memory(watch).rssMb)
  }, 100)
  await new Promise((resolve) => child.once('close', resolve))
  clearInterval(sampler)
  const stat = output.trim().split('\n').pop()!.split(') ')[1]!.split(' ')
  // Fields 16 and 17 of /proc/<pid>/stat (cutime, cstime), counted after the ") ".
  const ticks = Number(stat[13]) + Number(stat[14])
  return { ...parseWrk(output), loaderCpu: ticks / 100 / seconds, maxRssMb }
}

function parseWrk(output: string): Omit<WrkResult, 'loaderCpu'> {
  const latency = (label: string) => {
    const match = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(output)
    return match ? ms(match[1]!, match[2]!) : NaN
  }
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    p50: latency('50'),
    p99: latency('99'),
    errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    non3xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
  }
}

/** Taps a second in the mixed and transactional scenarios: a steady rate, well below saturation. */
const STEADY_RATE = env('BENCH_STEADY_RATE', 4000)

/**
 * wrk from the loader core at a steady STEADY_RATE (steady-paths.lua: each connection
 * waits between its requests) for exactly as long as `work` takes: it is stopped with
 * SIGINT (on which it prints its figures) when the work is done.
 */
async function wrkDuring<T>(
  port: number,
  work: () => Promise<T>,
): Promise<{ load: Omit<WrkResult, 'loaderCpu'>; result: T }> {
  const args = ['-t1', `-c${CONNECTIONS}`, '-d600s', '--latency', '-s', 'bench/steady-paths.lua']
  const child = spawn('taskset', ['-c', LOADER_CORE, 'wrk', ...args, `http://127.0.0.1:${port}/`], {
    env: { ...process.env, PATHS_FILE: PATHS, DELAY_MS: String(Math.round((CONNECTIONS * 1000) / STEADY_RATE)) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const closed = new Promise((resolve) => child.once('close', resolve))
  await sleep(300)
  try {
    const result = await work()
    return { load: parseWrk((child.kill('SIGINT'), await closed, output)), result }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

/**
 * The event-loop delay since the last scrape (prom-client resets it on each), in ms:
 * prom-client's figures are intervals between two samples, so the sampling interval is
 * taken off to give the delay (`lagMax` keeps prom-client's own maximum).
 */
async function loopDelay(): Promise<{ p99: number; max: number; lagMax: number; stalls: number }> {
  const metrics = await (await fetch(METRICS)).text()
  const value = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)`, 'm').exec(metrics)?.[1] ?? NaN)
  const ms = (name: string) => value(name) * 1000
  const lagMax = ms('nodejs_eventloop_lag_max_seconds')
  return {
    p99: round(Math.max(0, ms('nodejs_eventloop_lag_p99_seconds') - EVENT_LOOP_SAMPLE_MS), 1),
    max: round(Math.max(0, lagMax - EVENT_LOOP_SAMPLE_MS), 1),
    lagMax: round(lagMax, 1),
    stalls: value('smslinks_event_loop_stall_seconds_count'),
  }
}

/** The transactional rate the issue asks for, at which the flow is also run paced. */
const TRANSACTIONAL_TARGET = 1000

/**
 * Runs bench/transactional.ts on the loader core and returns its figures: as fast as
 * the service answers, or paced at `rate` messages a second.
 */
async function transactionalFlow(key: string, seconds: number, rate?: number): Promise<TransactionalResult> {
  const child = spawn('taskset', ['-c', LOADER_CORE, 'node', '--import', 'tsx', 'bench/transactional.ts'], {
    env: {
      ...process.env,
      SERVICE,
      API_KEY: key,
      // Paced, more callers, so that slow answers do not hold the pace back.
      CALLERS: rate === undefined ? '16' : '64',
      SECONDS: String(seconds),
      ...(rate === undefined ? {} : { RATE: String(rate) }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  await new Promise((resolve) => child.once('close', resolve))
  return JSON.parse(output.trim().split('\n').pop()!) as TransactionalResult
}

interface TransactionalResult {
  created: number
  seconds: number
  rate: number
  p50: number
  p99: number
  failures: Record<string, number>
}

const metric = (metrics: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN)

/**
 * Seconds until the service's click queue is empty, and the clicks it has dropped
 * since it started (both from /metrics).
 */
async function drained(): Promise<{ seconds: number; dropped: number }> {
  const started = performance.now()
  for (;;) {
    const metrics = await (await fetch(METRICS)).text()
    if (metric(metrics, 'smslinks_click_queue_depth') === 0) {
      return {
        seconds: (performance.now() - started) / 1000,
        dropped: metric(metrics, 'smslinks_clicks_dropped_total'),
      }
    }
    await sleep(20)
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places

/** A fresh database on the PostgreSQL server at `url` for the service; `drop` removes it. */
async function benchDatabase(url: string): Promise<{ url: string; version: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const name = `smslinks_bench_${process.pid}`
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${name}`)
  const version = ((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version
  const database = new URL(url)
  database.pathname = `/${name}`
  return {
    url: database.toString(),
    version,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    },
  }
}

interface Round {
  service: WrkResult & { maxRssMb: number; drainSeconds: number; dropped: number }
  bare: WrkResult
}

/** The PostgreSQL run's section of RESULTS.md: the redirect rounds against bare Fastify, and the targets. */
function postgresSection(
  runs: Round[],
  createSeconds: number,
  sampled: number,
  loadStats: { clicks: { total: number; bots: number } },
  version: string,
  api: { median: ApiFigures; rounds: ApiFigures[] },
): string {
  const ratios = runs.map((r) => r.service.rps / r.bare.rps)
  const p99Ratios = runs.map((r) => r.service.p99 / r.bare.p99)
  const sustained = runs.map((r) => (r.service.rps * DURATION) / (DURATION + r.service.drainSeconds) / r.bare.rps)
  const dropped = runs.reduce((sum, r) => sum + r.service.dropped, 0)
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**')
  const [load1, load5] = loadavg()
  return [
    POSTGRES_SECTION,
    '',
    `Written by \`BENCH_DATABASE_URL=… npm run bench\` on ${new Date().toISOString().slice(0, 10)}: the same ` +
      `redirect rounds as the first section (wrk \`-t1 -c${CONNECTIONS}\`, ${DURATION} s per run, ${ROUNDS} alternating rounds after ` +
      `a 3 s warm-up), with the service on PostgreSQL ${version} on this machine (default settings) instead of ` +
      "SQLite: every tap is written to PostgreSQL by the service's click writer thread, through a pool of its own. " +
      `Links sampled: ${sampled.toLocaleString('en')} of a message of ${RECIPIENTS.toLocaleString('en')} recipients ` +
      `(created in ${round(createSeconds)} s). PostgreSQL itself is not pinned and shares both cores. The machine ` +
      `was loaded by other work: load average ${round(load1!, 1)} (1 min), ${round(load5!, 1)} (5 min) at the end.`,
    '',
    '| round | service req/s | service p99 | its clicks all written after | clicks dropped | bare req/s | bare p99 | service ÷ bare | p99 ÷ bare p99 | sustained ÷ bare |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map(
      (r, i) =>
        `| ${i + 1} | ${Math.round(r.service.rps)} | ${r.service.p99} ms | ${round(r.service.drainSeconds)} s | ` +
        `${r.service.dropped} | ${Math.round(r.bare.rps)} | ${r.bare.p99} ms | ${round(ratios[i]!, 3)} × | ` +
        `${round(p99Ratios[i]!)} × | ${round(sustained[i]!, 3)} × |`,
    ),
    '',
    `Clicks recorded over the whole load (warm-up included): ` +
      `${(loadStats.clicks.total + loadStats.clicks.bots).toLocaleString('en')}; dropped: ${dropped}. ` +
      '"Sustained" counts the time after each run until its last click was written.',
    '',
    '| target (PostgreSQL) | figure | |',
    '|---|---|---|',
    `| redirect throughput with every tap written ≥ 0.8 × bare | ${round(median(ratios), 3)} × (median of the rounds), ` +
      `sustained ${round(median(sustained), 3)} ×, ${dropped} dropped | ${verdict(median(ratios) >= 0.8 && dropped === 0)} |`,
    `| redirect p99 ≤ 2 × bare's | ${round(median(p99Ratios))} × (median of the rounds) | ${verdict(median(p99Ratios) <= 2)} |`,
    '',
    '### PostgreSQL: redirects while the API works',
    '',
    ...apiSection(api),
    '',
  ].join('\n')
}

/** The mixed and transactional scenarios' figures (apiUnderRedirects). */
interface ApiFigures {
  createAlone: number
  createLoaded: number
  redirectsAlone: Omit<WrkResult, 'loaderCpu'>
  mixed: Omit<WrkResult, 'loaderCpu'>
  mixedDelay: LoopDelay
  mixedStalls: number
  flow: TransactionalResult & { redirects: Omit<WrkResult, 'loaderCpu'> }
  flowDelay: LoopDelay
  /** The flow paced at TRANSACTIONAL_TARGET messages a second. */
  paced: TransactionalResult & { redirects: Omit<WrkResult, 'loaderCpu'> }
  pacedDelay: LoopDelay
}

/** Event-loop delay in ms (loopDelay). */
type LoopDelay = { p99: number; max: number; lagMax: number }

/**
 * Mixed: redirects on the live message while three 100,000-recipient messages are
 * created back to back, against redirects alone for as long and the creations alone.
 * Then the transactional flow with redirects running: as fast as it is answered, and
 * paced at the target rate.
 */
async function apiUnderRedirects(key: string, round_: number): Promise<ApiFigures> {
  console.log(
    `round ${round_} of the API under redirects. mixed: redirects while three 100,000-recipient messages are created…`,
  )
  const threeMessages = async (tag: string) => {
    const started = performance.now()
    for (let i = 0; i < 3; i++) {
      await call('POST', '/v1/messages', key, {
        links: [{ url: 'https://shop.example.dk/next' }],
        recipients: Array.from({ length: PER_CALL }, (_, j) => `${tag}-${round_}-${i}-${j}`),
      })
    }
    return (performance.now() - started) / 1000
  }
  const createAlone = await threeMessages('alone')
  await drained()
  const redirectsAlone = (await wrkDuring(SERVICE_PORT, () => sleep(createAlone * 1000))).load
  await drained()
  const stallsBefore = (await loopDelay()).stalls
  const mixed = await wrkDuring(SERVICE_PORT, () => threeMessages('loaded'))
  const mixedDelay = await loopDelay()
  const createLoaded = mixed.result
  await drained()
  console.log(
    `  creating 3 × 100,000: ${round(createAlone)} s alone, ${round(createLoaded)} s with redirects; redirect p99 ` +
      `${redirectsAlone.p99} ms alone, ${mixed.load.p99} ms during creation; event-loop delay p99 ${mixedDelay.p99} ms, ` +
      `max ${mixedDelay.max} ms`,
  )

  console.log('transactional: 16 callers creating single-recipient text messages, with redirects running…')
  await loopDelay()
  const flow = await wrkDuring(SERVICE_PORT, () => transactionalFlow(key, DURATION))
  const flowDelay = await loopDelay()
  await drained()
  console.log(
    `  ${Math.round(flow.result.rate)} messages/s (p50 ${flow.result.p50} ms, p99 ${flow.result.p99} ms), ` +
      `failures ${JSON.stringify(flow.result.failures)}; redirects ${Math.round(flow.load.rps)} req/s p99 ${flow.load.p99} ms`,
  )
  console.log(`transactional paced at ${TRANSACTIONAL_TARGET} messages/s, with redirects running…`)
  await loopDelay()
  const paced = await wrkDuring(SERVICE_PORT, () => transactionalFlow(key, DURATION, TRANSACTIONAL_TARGET))
  const pacedDelay = await loopDelay()
  await drained()
  console.log(
    `  ${Math.round(paced.result.rate)} messages/s (p50 ${paced.result.p50} ms, p99 ${paced.result.p99} ms), ` +
      `failures ${JSON.stringify(paced.result.failures)}; redirects ${Math.round(paced.load.rps)} req/s p99 ${paced.load.p99} ms`,
  )
  return {
    createAlone,
    createLoaded,
    redirectsAlone,
    mixed: mixed.load,
    mixedDelay,
    mixedStalls: mixedDelay.stalls - stallsBefore,
    flow: { ...flow.result, redirects: flow.load },
    flowDelay,
    paced: { ...paced.result, redirects: paced.load },
    pacedDelay,
  }
}

/** The scenarios ROUNDS times: each figure is the median of its rounds'. */
async function apiRounds(key: string): Promise<{ median: ApiFigures; rounds: ApiFigures[] }> {
  const rounds: ApiFigures[] = []
  for (let i = 1; i <= ROUNDS; i++) rounds.push(await apiUnderRedirects(key, i))
  const mid = (pick: (api: ApiFigures) => number) => median(rounds.map(pick))
  const load = (pick: (api: ApiFigures) => Omit<WrkResult, 'loaderCpu'>) => ({
    rps: mid((api) => pick(api).rps),
    p50: mid((api) => pick(api).p50),
    p99: mid((api) => pick(api).p99),
    errors: rounds.reduce((sum, api) => sum + pick(api).errors, 0),
    non3xx: rounds.reduce((sum, api) => sum + pick(api).non3xx, 0),
  })
  const flow = (pick: (api: ApiFigures) => ApiFigures['flow']) => ({
    created: rounds.reduce((sum, api) => sum + pick(api).created, 0),
    seconds: rounds.reduce((sum, api) => sum + pick(api).seconds, 0),
    rate: mid((api) => pick(api).rate),
    p50: mid((api) => pick(api).p50),
    p99: mid((api) => pick(api).p99),
    failures: Object.assign({}, ...rounds.map((api) => pick(api).failures)) as Record<string, number>,
    redirects: load((api) => pick(api).redirects),
  })
  const delay = (pick: (api: ApiFigures) => LoopDelay) => ({
    p99: mid((api) => pick(api).p99),
    max: mid((api) => pick(api).max),
    lagMax: mid((api) => pick(api).lagMax),
  })
  return {
    rounds,
    median: {
      createAlone: mid((api) => api.createAlone),
      createLoaded: mid((api) => api.createLoaded),
      redirectsAlone: load((api) => api.redirectsAlone),
      mixed: load((api) => api.mixed),
      mixedDelay: delay((api) => api.mixedDelay),
      mixedStalls: rounds.reduce((sum, api) => sum + api.mixedStalls, 0),
      flow: flow((api) => api.flow),
      flowDelay: delay((api) => api.flowDelay),
      paced: flow((api) => api.paced),
      pacedDelay: delay((api) => api.pacedDelay),
    },
  }
}

/** How the mixed and transactional scenarios ran, round by round, and their targets' rows (medians). */
function apiSection({ median: api, rounds }: { median: ApiFigures; rounds: ApiFigures[] }): string[] {
  const {
    createAlone,
    createLoaded,
    redirectsAlone,
    mixed,
    mixedDelay,
    mixedStalls,
    flow,
    flowDelay,
    paced,
    pacedDelay,
  } = api
  // The service keeps the pace when it creates what was asked, give or take a few calls at the end.
  const keptPace = paced.rate >= 0.98 * TRANSACTIONAL_TARGET
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**')
  return [
    `Mixed: wrk at a steady ${STEADY_RATE.toLocaleString('en')} taps a second (\`steady-paths.lua\`: each of ` +
      `${CONNECTIONS} connections waits between its requests; BENCH_STEADY_RATE) on the live message while three messages of 100,000 recipients are created ` +
      'back to back (the bench stops wrk when the third answer is read), against wrk alone for as long as the creations took ' +
      'alone. Event-loop delay from prom-client (`nodejs_eventloop_lag_*`, reset at the scrape before the creations), ' +
      `less its ${EVENT_LOOP_SAMPLE_MS} ms sampling interval: prom-client reports the time between two samples, so an idle ` +
      `loop shows ${EVENT_LOOP_SAMPLE_MS} ms there ("lag max" is its own figure). ` +
      `Transactional: 16 callers with keep-alive creating single-recipient text messages (\`bench/transactional.ts\`, on the ` +
      `loader core with wrk) for ${DURATION} s, redirects running: first each caller calls again as soon as it is ` +
      `answered (the most the service takes, its core saturated), then 64 callers paced at ${TRANSACTIONAL_TARGET.toLocaleString('en')} ` +
      'messages a second in all, the rate the target asks for (docs/adr/0094). ' +
      `${ROUNDS} rounds of all three; each figure below is the median of its rounds' (stalls: their sum).`,
    '',
    '| round | redirect p99 alone | during creation | event-loop delay max (lag max) | creation alone / loaded (3 messages) | transactional | redirect p99 meanwhile | paced: transactional | redirect p99 meanwhile |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.redirectsAlone.p99} ms | ${r.mixed.p99} ms | ${r.mixedDelay.max} (${r.mixedDelay.lagMax}) ms | ` +
        `${round(r.createAlone)} / ${round(r.createLoaded)} s | ${Math.round(r.flow.rate)}/s | ${r.flow.redirects.p99} ms | ` +
        `${Math.round(r.paced.rate)}/s | ${r.paced.redirects.p99} ms |`,
    ),
    '',
    '| target | figure | |',
    '|---|---|---|',
    `| redirect p99 during creation ≤ 2 × redirect-only p99 | ${mixed.p99} ms against ${redirectsAlone.p99} ms ` +
      `(${round(mixed.p99 / redirectsAlone.p99)} ×); ${Math.round(mixed.rps)} against ${Math.round(redirectsAlone.rps)} req/s | ` +
      `${verdict(mixed.p99 <= 2 * redirectsAlone.p99)} |`,
    `| event-loop delay max during creation ≤ 20 ms | max ${mixedDelay.max} ms (lag max ${mixedDelay.lagMax} ms), p99 ${mixedDelay.p99} ms; ${mixedStalls} stalls ` +
      `of 50 ms or more logged | ${verdict(mixedDelay.max <= 20)} |`,
    `| 100,000-recipient creation under redirect load ≤ 1.5 × unloaded | ${round(createLoaded / 3)} s against ` +
      `${round(createAlone / 3)} s per message (${round(createLoaded / createAlone)} ×) | ${verdict(createLoaded <= 1.5 * createAlone)} |`,
    `| transactional ≥ 1,000 single-recipient text messages/s with redirects running | ${Math.round(flow.rate)}/s ` +
      `(p50 ${flow.p50} ms, p99 ${flow.p99} ms; failed calls ${JSON.stringify(flow.failures)}) | ` +
      `${verdict(flow.rate >= 1000)} |`,
    `| redirect p99 meanwhile ≤ 2 × redirect-only p99, at ${TRANSACTIONAL_TARGET.toLocaleString('en')} messages/s | ` +
      `${paced.redirects.p99} ms (${round(paced.redirects.p99 / redirectsAlone.p99)} ×), ${Math.round(paced.redirects.rps)} req/s, ` +
      `at ${Math.round(paced.rate)} messages/s (p50 ${paced.p50} ms, p99 ${paced.p99} ms; failed calls ${JSON.stringify(paced.failures)}); ` +
      `event-loop delay max ${pacedDelay.max} ms (lag max ${pacedDelay.lagMax} ms). As fast as answered: ${flow.redirects.p99} ms ` +
      `(${round(flow.redirects.p99 / redirectsAlone.p99)} ×), ${Math.round(flow.redirects.rps)} req/s; event-loop delay max ` +
      `${flowDelay.max} ms (lag max ${flowDelay.lagMax} ms) | ${verdict(keptPace && paced.redirects.p99 <= 2 * redirectsAlone.p99)} |`,
  ]
}

async function main(): Promise<void> {
  if (!existsSync('bench/run.ts')) throw new Error('run from the repository root: npm run bench')
  need('wrk', 'apt-get install -y wrk')
  need('taskset', 'apt-get install -y util-linux')
  if (cpus().length < 2) throw new Error('needs two cores: one for the servers, one for wrk')
  // The bench's own work (building request bodies, reading 10 MB answers) stays off the service's core.
  execFileSync('taskset', ['-a', '-p', '-c', LOADER_CORE, String(process.pid)], { stdio: 'ignore' })
  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  console.log('building…')
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' })

  const postgres = POSTGRES === null ? null : await benchDatabase(POSTGRES)
  const serviceEnv = {
    ...(postgres === null ? {} : { DATABASE_URL: postgres.url }),
    PORT: String(SERVICE_PORT),
    HOST: '127.0.0.1',
    // The API is called on 127.0.0.1, which must be one of the service's own hosts; the
    // bench's short-link domain is the same host, so it answers both (docs/hosts.md).
    PUBLIC_URL: SERVICE,
    METRICS_PORT: String(METRICS_PORT),
    DATABASE_PATH: DB,
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    // wrk is one client address: under the default per-address limit (6,000 counted taps a
    // minute) almost every tap would be redirected without being recorded. A limit this high
    // keeps the limiter's lookup on the path and records every tap, as many phones would.
    REDIRECT_RATE_LIMIT_PER_MINUTE: '10000000',
  }
  let service = start(['node', ...NODE_ARGS, 'dist/server.js'], serviceEnv)
  await waitFor(`${SERVICE}/healthz`)

  const tenant = await call('POST', '/v1/tenants', ADMIN, { name: 'Bench' })
  await call('POST', `/v1/tenants/${tenant.id}/domains`, ADMIN, { host: `127.0.0.1:${SERVICE_PORT}`, scheme: 'http' })
  const { key } = await call('POST', `/v1/tenants/${tenant.id}/api-keys`, ADMIN, { name: 'bench' })

  console.log(`creating a message with ${RECIPIENTS.toLocaleString('en')} recipients…`)
  const ids = (from: number) =>
    Array.from({ length: Math.min(PER_CALL, RECIPIENTS - from) }, (_, i) => `customer-${from + i}`)
  const createStarted = performance.now()
  const message = await call('POST', '/v1/messages', key, {
    externalId: 'bench',
    links: [{ url: 'https://shop.example.dk/landing?utm_source=sms' }],
    recipients: ids(0),
  })
  const paths: string[] = []
  const keep = (recipients: Array<{ links: string[] }>) => {
    for (const recipient of recipients) if (Math.random() < 0.2) paths.push(new URL(recipient.links[0]!).pathname)
  }
  keep(message.recipients)
  for (let from = PER_CALL; from < RECIPIENTS; from += PER_CALL) {
    keep((await call('POST', `/v1/messages/${message.id}/recipients`, key, { recipients: ids(from) })).recipients)
  }
  const createSeconds = (performance.now() - createStarted) / 1000
  const longestPath = paths.reduce((longest, path) => Math.max(longest, path.length - 1), 0)
  writeFileSync(PATHS, `${paths.join('\n')}\n`)
  console.log(
    `  ${round(createSeconds)} s; ${paths.length} random recipient links sampled; longest path ${longestPath} chars`,
  )

  start(['node', '--import', 'tsx', 'bench/bare-fastify.ts'], { PORT: String(BARE_PORT), PATHS_FILE: PATHS })
  await waitFor(`http://127.0.0.1:${BARE_PORT}/x`)

  console.log('warming up…')
  await wrk(SERVICE_PORT, 3)
  await wrk(BARE_PORT, 3)
  const afterCreate = memory(service.pid!)
  let droppedBefore = (await drained()).dropped
  const warmUpDropped = droppedBefore
  const runs: Round[] = []
  for (let i = 1; i <= ROUNDS; i++) {
    const a = await wrk(SERVICE_PORT, DURATION, service.pid)
    // The clicks queued during the run are written before bare's run, which must not pay for them.
    const { seconds: drainSeconds, dropped: droppedNow } = await drained()
    const dropped = droppedNow - droppedBefore
    droppedBefore = droppedNow
    const b = await wrk(BARE_PORT, DURATION)
    runs.push({ service: { ...a, drainSeconds, dropped }, bare: b })
    console.log(
      `  round ${i}: service ${Math.round(a.rps)} req/s p50 ${a.p50} ms p99 ${a.p99} ms, queue written ${round(drainSeconds)} s later, ` +
        `${dropped} clicks dropped | ` +
        `bare ${Math.round(b.rps)} req/s p50 ${b.p50} ms p99 ${b.p99} ms | loader CPU ${round(a.loaderCpu)}/${round(b.loaderCpu)}`,
    )
  }
  const rssUnderLoad = Math.max(...runs.map((r) => r.service.maxRssMb))
  const rssPeak = memory(service.pid!).peakMb

  // Let the last clicks flush, then check what the service recorded.
  await sleep(500)
  const loadStats = await call('GET', `/v1/messages/${message.id}/stats`, key)
  const api = await apiRounds(key)
  if (postgres !== null) {
    stopAll()
    await postgres.drop()
    const section = postgresSection(runs, createSeconds, paths.length, loadStats, postgres.version, api)
    writeResultsSection(POSTGRES_SECTION, section)
    console.log(section)
    return
  }

  console.log(`stopping the service and filling ${STATS_CLICKS.toLocaleString('en')} clicks…`)
  service.kill('SIGTERM')
  await new Promise((resolve) => service.once('exit', resolve))
  const fill = fillClicks(DB, message.id, STATS_CLICKS)
  service = start(['node', 'dist/server.js'], serviceEnv)
  await waitFor(`${SERVICE}/healthz`)
  await call('GET', `/v1/messages/${message.id}/stats`, key)
  const timings: number[] = []
  let figures: any
  for (let i = 0; i < 200; i++) {
    const started = performance.now()
    figures = await call('GET', `/v1/messages/${message.id}/stats`, key)
    timings.push(performance.now() - started)
  }
  timings.sort((a, b) => a - b)
  const statsP50 = timings[100]!
  const statsP99 = timings[197]!
  stopAll()

  const service_ = {
    rps: median(runs.map((r) => r.service.rps)),
    p50: median(runs.map((r) => r.service.p50)),
    p99: median(runs.map((r) => r.service.p99)),
  }
  const bare = {
    rps: median(runs.map((r) => r.bare.rps)),
    p50: median(runs.map((r) => r.bare.p50)),
    p99: median(runs.map((r) => r.bare.p99)),
  }
  // Each round's service run against the bare run right after it: the machine's speed drifts
  // over minutes (by 2 x within one run here), and a pair of adjacent runs shares its state.
  const roundRatios = runs.map((r) => r.service.rps / r.bare.rps)
  const ratio = median(roundRatios)
  const ratioOfMedians = service_.rps / bare.rps
  const p99RoundRatios = runs.map((r) => r.service.p99 / r.bare.p99)
  const sustainedRatio =
    median(runs.map((r) => (r.service.rps * DURATION) / (DURATION + r.service.drainSeconds))) / bare.rps
  const p99Ratio = median(p99RoundRatios)
  const clickedDuringLoad = loadStats.clicks.total + loadStats.clicks.bots
  const served = runs.reduce((sum, r) => sum + r.service.rps * DURATION, 0)
  const dropped = runs.reduce((sum, r) => sum + r.service.dropped, 0)
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**')
  const cpu = cpus()[0]!.model
  const wrkVersion = execFileSync('sh', ['-c', 'wrk -v 2>&1 | head -1'], { encoding: 'utf8' }).trim()

  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${wrkVersion}.`,
    `Servers pinned to core ${SERVER_CORE}, wrk pinned to core ${LOADER_CORE} (\`-t1 -c${CONNECTIONS}\`, ${DURATION} s per run, ` +
      `${ROUNDS} alternating rounds after a 3 s warm-up each; medians shown). Every request is a random one of ` +
      `${paths.length.toLocaleString('en')} recipient links sampled from a message of ${RECIPIENTS.toLocaleString('en')} recipients, ` +
      'with an iPhone Safari user agent, so each is token-checked, classified human and recorded ' +
      '(`REDIRECT_RATE_LIMIT_PER_MINUTE` is raised for the run: wrk is a single client address). ' +
      `The service runs as \`npm start\` runs it: \`node ${START_FLAGS.join(' ')} dist/server.js\`` +
      (EXTRA_ARGS.length > 0 ? `, with \`${EXTRA_ARGS.join(' ')}\` added (BENCH_NODE_ARGS)` : '') +
      "; bare Fastify with node's defaults.",
    '',
    '| | requests/s | p50 | p99 |',
    '|---|---:|---:|---:|',
    `| smslinks redirect (cache, token check, recording) | ${Math.round(service_.rps)} | ${service_.p50} ms | ${service_.p99} ms |`,
    `| bare Fastify 5 \`reply.redirect\` from a Map | ${Math.round(bare.rps)} | ${bare.p50} ms | ${bare.p99} ms |`,
    '',
    'Rounds:',
    '',
    '| round | service req/s | service p99 | its clicks all written after | clicks dropped | sustained: taps ÷ (run + writing after) | bare req/s | bare p99 | service ÷ bare | p99 ÷ bare p99 | wrk CPU (service / bare run) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map(
      (r, i) =>
        `| ${i + 1} | ${Math.round(r.service.rps)} | ${r.service.p99} ms | ${round(r.service.drainSeconds)} s | ${r.service.dropped} | ` +
        `${Math.round((r.service.rps * DURATION) / (DURATION + r.service.drainSeconds))} /s | ${Math.round(r.bare.rps)} | ${r.bare.p99} ms | ` +
        `${round(roundRatios[i]!, 3)} × | ${round(p99RoundRatios[i]!)} × | ` +
        `${Math.round(r.service.loaderCpu * 100)} % / ${Math.round(r.bare.loaderCpu * 100)} % |`,
    ),
    '',
    'The click writer thread runs on core 0 too, at nice 19 (`CLICK_WRITER_NICE`, ADR 0004): while the core is saturated ' +
      'the clicks of a run wait in the queue, and are written when the run is over. "Its clicks all written after" is how ' +
      'long after the end of the run the last of them was stored; the next run starts only then.',
    '',
    `Socket errors: ${runs.reduce((s, r) => s + r.service.errors + r.bare.errors, 0)}; ` +
      `non-3xx answers: ${runs.reduce((s, r) => s + r.service.non3xx + r.bare.non3xx, 0)}.`,
    `Clicks the service recorded over the whole load (warm-up included): ${clickedDuringLoad.toLocaleString('en')} ` +
      `(the measured rounds alone served about ${Math.round(served).toLocaleString('en')}); clicks dropped because the ` +
      `queue was full (\`smslinks_clicks_dropped_total\`): ${dropped.toLocaleString('en')} in the measured rounds, ` +
      `${warmUpDropped.toLocaleString('en')} in the warm-up. A round that drops clicks does not count as "with recording".`,
    '',
    '| target | figure | |',
    '|---|---|---|',
    `| redirect throughput ≥ 0.9 × bare, every click recorded | ${round(ratio, 3)} × (median of the rounds' ratios; ` +
      `the medians' ratio is ${round(ratioOfMedians, 3)} ×), ${dropped.toLocaleString('en')} clicks dropped ` +
      `(clicks written after each run: sustained with every click written, ${round(sustainedRatio)} ×) | ${verdict(ratio >= 0.9 && dropped === 0)} |`,
    `| redirect p99 ≤ 1.5 × bare's | ${round(p99Ratio)} × (median of the rounds' ratios; the medians' ratio is ` +
      `${round(service_.p99 / bare.p99)} ×) | ${verdict(p99Ratio <= 1.5)} |`,
    `| create ${RECIPIENTS.toLocaleString('en')} recipients (calls of 100,000) ≤ 10 s | ${round(createSeconds)} s | ${verdict(createSeconds <= 10)} |`,
    `| \`GET /v1/messages/:id/stats\` after ${STATS_CLICKS.toLocaleString('en')} clicks ≤ 10 ms | p50 ${round(statsP50)} ms, p99 ${round(statsP99)} ms (200 sequential calls, client side) | ${verdict(statsP50 <= 10)} |`,
    `| service RSS under load ≤ 250 MB (default cache size) | ${rssUnderLoad} MB (highest 100 ms sample during the measured rounds) | ${verdict(rssUnderLoad <= 250)} |`,
    '',
    '## Redirects while the API works',
    '',
    ...apiSection(api),
    '',
    `Memory: ${afterCreate.rssMb} MB resident before the load rounds; the process's high-water mark over the whole run, ` +
      `creation of the ${RECIPIENTS.toLocaleString('en')} recipients included (100,000-recipient bodies and responses of ~8 MB each), ` +
      `is ${rssPeak} MB.`,
    '',
    `Longest recipient path: ${longestPath} characters after the host. Filling ${STATS_CLICKS.toLocaleString('en')} clicks took ` +
      `${round(fill.seconds, 1)} s (SQL, outside the service); the stats call then reported ` +
      `${figures.clicks.total.toLocaleString('en')} human clicks, ${figures.clicks.unique.toLocaleString('en')} unique, ` +
      `${figures.clicks.bots.toLocaleString('en')} bots, CTR ${figures.ctr}.`,
    '',
  ]
  // The dashboard's section is written by bench/dashboard.ts: kept as it is.
  const previous = existsSync('bench/RESULTS.md') ? readFileSync('bench/RESULTS.md', 'utf8') : ''
  const dashboard = previous.indexOf('## Dashboard pages')
  writeFileSync('bench/RESULTS.md', lines.join('\n') + (dashboard === -1 ? '' : '\n' + previous.slice(dashboard)))
  console.log(lines.join('\n'))
}

main().catch((err) => {
  console.error(err)
  stopAll()
  process.exit(1)
})
