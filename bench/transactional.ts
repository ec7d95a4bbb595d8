/**
 * A transactional flow for the benchmark: CALLERS concurrent callers, each creating
 * single-recipient text messages one after another with keep-alive, for SECONDS.
 * With RATE, the calls are paced to start at that many a second in all (a caller that
 * falls behind calls again at once); without, each caller calls again as soon as it has
 * its answer, which finds the most the service can take.
 * Prints one JSON line: messages created, seconds, rate, p50/p99 latency in ms, and
 * the status codes of failed calls. Run by bench/run.ts, pinned to the loader core.
 *
 * Environment: SERVICE (base URL), API_KEY, CALLERS (16), SECONDS (10), RATE (none).
 */
import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

const service = new URL(process.env.SERVICE ?? 'http://127.0.0.1:3901')
const key = process.env.API_KEY ?? ''
const callers = Number(process.env.CALLERS ?? 16)
const seconds = Number(process.env.SECONDS ?? 10)
const rate = process.env.RATE ? Number(process.env.RATE) : null
const agent = new Agent({ keepAlive: true, maxSockets: callers })

function create(n: number): Promise<number> {
  const body = JSON.stringify({
    kind: 'transactional',
    text: `Your order ${n} has shipped. Track it: https://shop.example.dk/track/${n}`,
    recipients: [`+45${String(20_000_000 + n)}`],
  })
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: service.hostname,
        port: service.port,
        method: 'POST',
        path: '/v1/messages',
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode ?? 0))
      },
    )
    call.on('error', reject)
    call.end(body)
  })
}

const latencies: number[] = []
const failures: Record<string, number> = {}
let next = 0
const until = performance.now() + seconds * 1000
const started = performance.now()
await Promise.all(
  Array.from({ length: callers }, async (_, caller) => {
    for (let call = 0; performance.now() < until; call++) {
      if (rate !== null) {
        // This caller's share of the schedule: call number `call * callers + caller` overall.
        const due = started + ((call * callers + caller) * 1000) / rate
        if (due >= until) break
        if (due > performance.now()) await sleep(due - performance.now())
      }
      const at = performance.now()
      const status = await create(next++)
      if (status === 201) latencies.push(performance.now() - at)
      else failures[status] = (failures[status] ?? 0) + 1
    }
  }),
)
const elapsed = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? NaN) * 10) / 10
console.log(
  JSON.stringify({
    created: latencies.length,
    seconds: elapsed,
    rate: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    failures,
  }),
)
agent.destroy()
