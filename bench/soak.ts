/**
 * `npm run soak`: a bounded soak of the real server on 127.0.0.1. Starts
 * `node --import tsx src/server.ts` on a fresh database in a temp folder, drives mixed
 * traffic at it — redirects on recipient links (with a few unknown codes and previews)
 * from several connections, and API calls (create a message, its stats, the message
 * list, the opt-out list) from one — and samples the server's memory as it goes: RSS
 * from /proc, V8 heap from /metrics on its metrics listener. At the end it stops the
 * server by its PID (SIGTERM, which flushes), removes the database, and says whether
 * memory stayed flat.
 *
 * Not part of `npm test`. Environment: SOAK_SECONDS (600), SOAK_CONNECTIONS (16),
 * SOAK_SAMPLES (10).
 *
 * Each sample first asks the server for a full garbage collection (SIGUSR2, handled by
 * bench/gc-on-signal.mjs, loaded with --expose-gc only here), so the heap figure is what
 * is live, not where the saw-tooth between collections happens to be.
 *
 * "Flat": the live heap at the end is within 10 % + 2 MiB of the live heap after the
 * first quarter (warm-up: JIT, caches filling), and RSS within 10 % + 40 MiB of it
 * (SQLite's page cache, up to 32 MiB, fills as the database grows; that is by design).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const SECONDS = env('SOAK_SECONDS', 600)
const CONNECTIONS = env('SOAK_CONNECTIONS', 16)
const SAMPLES = Math.max(4, env('SOAK_SAMPLES', 10))
const RECIPIENTS_PER_MESSAGE = 500
const MiB = 1024 * 1024
const PHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

interface Sample {
  at: number
  rssMiB: number
  heapMiB: number
  redirects: number
  apiCalls: number
}

const dir = mkdtempSync(join(tmpdir(), 'smslinks-soak-'))
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const metricsUrl = `http://127.0.0.1:${await freePort()}/metrics`
const child = spawn(
  process.execPath,
  ['--expose-gc', '--import', './bench/gc-on-signal.mjs', '--import', 'tsx', 'src/server.ts'],
  {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      METRICS_PORT: new URL(metricsUrl).port,
      DATABASE_PATH: join(dir, 'soak.db'),
      ADMIN_TOKEN: '',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
const pid = child.pid!
const cleanUp = () => {
  if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
process.on('SIGINT', () => {
  cleanUp()
  process.exit(130)
})

let log = ''
child.stdout.setEncoding('utf8')
const key = await new Promise<string>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  child.stdout.on('data', (chunk: string) => {
    if (log.length < 100_000) log += chunk
    const match = /"apiKey":"(sl_\w+)"/.exec(log)
    if (match) resolve(match[1]!)
  })
})
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break
  } catch {
    await sleep(100)
  }
}
const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }

let messages = 0
const links: string[] = []
async function createMessage(): Promise<string> {
  const n = messages++
  const response = await fetch(`${base}/v1/messages`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      externalId: `soak-${n}`,
      text: `Sale ${n} at https://shop.example.dk/sale/${n} {unsubscribe}`,
      recipients: Array.from({ length: RECIPIENTS_PER_MESSAGE }, (_, i) => `cust-${n}-${i}`),
    }),
  })
  if (response.status !== 201) throw new Error(`create message: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { id: string; recipients: Array<{ links: string[] }> }
  // Keep a bounded pool of links to tap: the newest messages, as real traffic does.
  for (const recipient of body.recipients) links.push(recipient.links[0]!)
  if (links.length > 50_000) links.splice(0, links.length - 50_000)
  return body.id
}

function rssMiB(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match![1]) / 1024
}
async function heapMiB(): Promise<number> {
  const text = await (await fetch(metricsUrl)).text()
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)![1]) / MiB
}

let redirects = 0
let apiCalls = 0
let failures = 0
const deadline = Date.now() + SECONDS * 1000
await createMessage()

async function redirectWorker(): Promise<void> {
  for (let i = 0; Date.now() < deadline; i++) {
    const link = links[Math.floor(Math.random() * links.length)]!
    // 1 in 20 is an unknown code, 1 in 10 a preview fetcher.
    const url = i % 20 === 0 ? `${base}/zz${Math.random().toString(36).slice(2, 8)}` : link
    const ua = i % 10 === 0 ? 'WhatsApp/2.23.20.0' : PHONE
    try {
      const response = await fetch(url, { redirect: 'manual', headers: { 'user-agent': ua } })
      await response.arrayBuffer()
      if (response.status === 302 || response.status === 404) redirects++
      else failures++
    } catch {
      failures++
    }
  }
}

async function apiWorker(): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const id = await createMessage()
      for (const path of [`/v1/messages/${id}/stats`, '/v1/messages?limit=50', '/v1/optouts?limit=100']) {
        const response = await fetch(`${base}${path}`, { headers: auth })
        await response.arrayBuffer()
        if (response.ok) apiCalls++
        else failures++
      }
      apiCalls++
    } catch {
      failures++
    }
    await sleep(200)
  }
}

const samples: Sample[] = []
const started = Date.now()
async function sample(): Promise<void> {
  process.kill(pid, 'SIGUSR2')
  await sleep(300)
  samples.push({ at: (Date.now() - started) / 1000, rssMiB: rssMiB(), heapMiB: await heapMiB(), redirects, apiCalls })
}
await sample()
const sampler = (async () => {
  for (let i = 1; i <= SAMPLES; i++) {
    await sleep(Math.max(0, started + (i * SECONDS * 1000) / SAMPLES - Date.now()))
    await sample()
  }
})()
await Promise.all([...Array.from({ length: CONNECTIONS }, redirectWorker), apiWorker(), sampler])

child.kill('SIGTERM')
const [code] = await once(child, 'exit')
cleanUp()

const fmt = (n: number) => n.toFixed(1).padStart(7)
console.log(`\nsoak: ${SECONDS} s, ${CONNECTIONS} redirect connections + 1 API connection, server pid ${pid}\n`)
console.log('     s    RSS MiB   live heap MiB   redirects   API calls')
for (const s of samples) {
  console.log(
    `${fmt(s.at)}  ${fmt(s.rssMiB)}         ${fmt(s.heapMiB)}  ${String(s.redirects).padStart(10)}  ${String(s.apiCalls).padStart(10)}`,
  )
}
const warm = samples[Math.floor(samples.length / 4)]!
const last = samples[samples.length - 1]!
const flat = last.heapMiB <= warm.heapMiB * 1.1 + 2 && last.rssMiB <= warm.rssMiB * 1.1 + 40
console.log(
  `\nbefore: RSS ${samples[0]!.rssMiB.toFixed(1)} MiB, live heap ${samples[0]!.heapMiB.toFixed(1)} MiB` +
    `\nafter warm-up (${warm.at.toFixed(0)} s): RSS ${warm.rssMiB.toFixed(1)} MiB, live heap ${warm.heapMiB.toFixed(1)} MiB` +
    `\nafter (${last.at.toFixed(0)} s): RSS ${last.rssMiB.toFixed(1)} MiB, live heap ${last.heapMiB.toFixed(1)} MiB` +
    `\n${redirects} redirects (${Math.round(redirects / SECONDS)}/s), ${apiCalls} API calls, ${messages} messages, ${failures} failures` +
    `\nserver exit code ${code}` +
    `\nmemory ${flat ? 'stayed flat' : 'GREW'}`,
)
process.exit(flat && failures === 0 && code === 0 ? 0 : 1)
