import http from 'node:http'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  stats,
  testClock,
  type TestClock,
} from '../helpers.js'
import { OWN_HOST, signIn } from '../fixtures/dashboard.js'
import { eventually, FAST_WEBHOOKS, startReceiver } from '../fixtures/webhook-receiver.js'

/**
 * A labelled pattern suite for the sweep rule (docs/adr/0084): scripted fetches of one
 * message's links, each labelled as a scanner's or a person's, tapped over real HTTP through a proxy
 * (TRUST_PROXY, X-Forwarded-For) on a test clock. After settling, the stats must count
 * exactly the people: every scanner fetch bot/sweep, every person's tap human.
 */

/** The rule on, with its defaults; the proxy's forwarded addresses believed (it is on loopback). */
const SWEEP_ON = { SWEEP_MIN_RECIPIENTS: '8', TRUST_PROXY: '127.0.0.1' }
/** Keep-alive, as a proxy holds its connections to the service. */
const agent = new http.Agent({ keepAlive: true })
t.teardown(() => agent.destroy())

const PHONES = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.53 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A346B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 12; moto g(30)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.99 Mobile Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/125.0.6422.80 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; 23078PND5G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.72 Mobile Safari/537.36',
]
/** How often each phone's user agent is seen: one iOS version dominates, as it does on a carrier. */
const PHONE_WEIGHTS = [35, 12, 6, 10, 8, 7, 6, 5, 6, 5]
const DESKTOP_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36'
const MOBILE_SCANNER = PHONES[3]!

/** A deterministic pseudo-random source (mulberry32), so each case is the same on every run. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

interface Fetch {
  /** Milliseconds after the message was created. */
  at: number
  recipient: number
  ip: string
  userAgent: string
  by: 'scanner' | 'person'
}

/** A scanner's sweep: one fetch per recipient, `gap` apart with ±`jitter`, from `ips` in turn. */
function sweep(options: {
  recipients: number[]
  start: number
  gap: number
  jitter?: number
  ips: string[]
  userAgent: string
  seed: number
}): Fetch[] {
  const next = random(options.seed)
  let at = options.start
  return options.recipients.map((recipient, i) => {
    const fetch: Fetch = {
      at: Math.round(at),
      recipient,
      ip: options.ips[i % options.ips.length]!,
      userAgent: options.userAgent,
      by: 'scanner',
    }
    at += options.gap * (1 + (options.jitter ?? 0) * (2 * next() - 1))
    return fetch
  })
}

/**
 * People behind one carrier network: each taps once, at a delay after sending drawn
 * from a log-normal (median `medianMs`), from an address of the /24 and a phone of the pool.
 */
function crowd(options: { recipients: number[]; network: string; medianMs: number; seed: number }): Fetch[] {
  const next = random(options.seed)
  const total = PHONE_WEIGHTS.reduce((a, b) => a + b, 0)
  return options.recipients.map((recipient) => {
    const normal = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
    let pick = next() * total
    let phone = 0
    while (pick >= PHONE_WEIGHTS[phone]!) pick -= PHONE_WEIGHTS[phone++]!
    return {
      at: Math.round(options.medianMs * Math.exp(0.8 * normal)),
      recipient,
      ip: `${options.network}.${1 + Math.floor(next() * 250)}`,
      userAgent: PHONES[phone]!,
      by: 'person',
    }
  })
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

interface Sent {
  app: FastifyInstance
  key: string
  message: { id: string; recipients: Array<{ id: string; links: string[] }> }
  clock: TestClock
  /** Where the service listens. */
  origin: string
}

async function send(t: Parameters<typeof startApp>[0], recipients: number, env: Record<string, string> = {}) {
  const clock = testClock()
  const app = await startApp(t, { clock, env: { ...SWEEP_ON, ...env } })
  // Taps come over real HTTP, from the proxy on loopback that forwards each phone's address.
  const origin = await app.listen({ port: 0, host: '127.0.0.1' })
  const { key } = await createTenant(app)
  const ids = range(0, recipients).map((i) => `r${i}`)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ids }))
  return { app, key, message, clock, origin } satisfies Sent
}

/** One GET of a short link through the proxy: the link's Host, the fetcher's user agent and address. */
function viaProxy(origin: string, link: URL, fetch: Fetch): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${origin}${link.pathname}`,
      { headers: { host: link.host, 'user-agent': fetch.userAgent, 'x-forwarded-for': fetch.ip }, agent },
      (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode ?? 0))
      },
    )
    request.on('error', reject)
  })
}

/** Taps every fetch in time order on the test clock, through the proxy; writes as the recorder would, every second. */
async function play(sent: Sent, fetches: Fetch[]): Promise<Fetch[]> {
  const { app, clock, message } = sent
  const start = clock.now()
  const ordered = [...fetches].sort((a, b) => a.at - b.at)
  let lastFlush = start
  for (const fetch of ordered) {
    clock.advance(start + fetch.at - clock.now())
    const url = new URL(message.recipients[fetch.recipient]!.links[0]!)
    const status = await viaProxy(sent.origin, url, fetch)
    if (status !== 302) throw new Error(`a tap was answered ${status}, not 302`)
    if (clock.now() - lastFlush >= 1000) {
      await flushClicks(app)
      lastFlush = clock.now()
    }
  }
  return ordered
}

/** Moves past every settle time and writes: the figures are then final. */
async function settle(sent: Sent) {
  sent.clock.advance(60_000)
  return stats(sent.app, sent.key, sent.message.id)
}

/** The stored clicks in the order tapped. */
async function exported(sent: Sent) {
  const clicks: Array<{ class: string; reason: string | null; recipient: string | null }> = []
  let cursor: string | null = null
  do {
    const page: { clicks: typeof clicks; nextCursor: string | null } = json(
      await sent.app.inject({
        url: `/v1/messages/${sent.message.id}/clicks?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        headers: bearer(sent.key),
      }),
    )
    clicks.push(...page.clicks)
    cursor = page.nextCursor
  } while (cursor)
  return clicks
}

/**
 * Plays a labelled case and checks the settled figures are exactly what the labels say:
 * every scanner fetch a sweep, every person's tap a human click of their own recipient.
 */
async function expectExact(t: Parameters<typeof startApp>[0], sent: Sent, fetches: Fetch[]) {
  const ordered = await play(sent, fetches)
  const figures = await settle(sent)
  const scanner = ordered.filter((f) => f.by === 'scanner')
  const people = ordered.filter((f) => f.by === 'person')
  const clickers = new Set(people.map((f) => f.recipient))
  t.equal(figures.clicks.pending, 0, 'every verdict settled')
  t.equal(figures.clicks.byReason.sweep, scanner.length, `all ${scanner.length} scanner fetches are sweeps`)
  t.equal(figures.clicks.bots, scanner.length, 'and nothing else is a bot')
  t.equal(figures.clicks.total, people.length, `all ${people.length} people's taps count`)
  t.equal(figures.clicks.unique, clickers.size, 'each person a clicker')
  t.equal(figures.breakdowns.timeToFirstClick.recipients, clickers.size, 'time to first click counts the same people')
  const device = Object.values(figures.breakdowns.device as Record<string, number>).reduce((a, b) => a + b, 0)
  t.equal(device, people.length, 'the device breakdown counts only people')
  const denominator = figures.delivered ?? figures.recipients
  t.equal(figures.ctr, Math.round((clickers.size / denominator) * 10_000) / 10_000, 'CTR is the people over recipients')
  const clicks = await exported(sent)
  t.same(
    clicks.map((c) => (c.class === 'human' ? 'person' : c.reason)),
    ordered.map((f) => (f.by === 'person' ? 'person' : 'sweep')),
    'the export shows each fetch with its verdict, in order',
  )
  return figures
}

t.test('a fast sweep from one data-centre address right after sending: all sweep, CTR 0', async (t) => {
  const sent = await send(t, 40)
  const fetches = sweep({
    recipients: range(0, 40),
    start: 1500,
    gap: 80,
    jitter: 0.6,
    ips: ['198.51.100.7'],
    userAgent: DESKTOP_CHROME,
    seed: 1,
  })
  const figures = await expectExact(t, sent, fetches)
  t.equal(figures.ctr, 0)
})

t.test('a slow, even sweep with a phone user agent, after the delivery reports: all sweep', async (t) => {
  const sent = await send(t, 30)
  sent.clock.advance(3000)
  await sent.app.inject({
    method: 'POST',
    url: `/v1/messages/${sent.message.id}/deliveries`,
    headers: bearer(sent.key),
    payload: { reports: range(0, 30).map((i) => ({ recipient: `r${i}`, status: 'delivered' })) },
  })
  const fetches = sweep({
    recipients: range(0, 30),
    start: 20_000,
    gap: 2500,
    jitter: 0.15,
    ips: ['203.0.113.40', '203.0.113.41'],
    userAgent: MOBILE_SCANNER,
    seed: 2,
  })
  const figures = await expectExact(t, sent, fetches)
  t.equal(figures.delivered, 30)
})

t.test('a sweep split over three networks of a cloud, starting before the reports: all sweep', async (t) => {
  const sent = await send(t, 45)
  const fetches = [0, 1, 2].flatMap((n) =>
    sweep({
      recipients: range(n * 15, n * 15 + 15),
      start: 800 + n * 40,
      gap: 300,
      jitter: 0.2,
      ips: [`192.0.${2 + n * 10}.${10 + n}`],
      userAgent: PHONES[0]!,
      seed: 3 + n,
    }),
  )
  await expectExact(t, sent, fetches)
})

t.test('a crowd of real phones behind one carrier /24: every person counts', async (t) => {
  const sent = await send(t, 300)
  const fetches = crowd({ recipients: range(0, 300), network: '100.64.12', medianMs: 60_000, seed: 7 })
  const figures = await expectExact(t, sent, fetches)
  t.equal(figures.clicks.unique, 300)
  t.equal(figures.ctr, 1)
})

t.test('a dense crowd: 250 people within about 30 s on one /24 still all count', async (t) => {
  const sent = await send(t, 250)
  const fetches = crowd({ recipients: range(0, 250), network: '100.64.99', medianMs: 15_000, seed: 11 })
  await expectExact(t, sent, fetches)
})

t.test('a scanner first, then the person: they count, with the time of their own tap', async (t) => {
  const sent = await send(t, 30)
  const scanner = sweep({
    recipients: range(0, 30),
    start: 2000,
    gap: 1000,
    jitter: 0.05,
    ips: ['198.51.100.9'],
    userAgent: DESKTOP_CHROME,
    seed: 5,
  })
  // Ten of the thirty tap themselves, two to four minutes later, one after the judged window.
  const people = crowd({ recipients: range(0, 10), network: '100.64.20', medianMs: 180_000, seed: 8 }).map((f, i) =>
    i === 9 ? { ...f, at: 11 * 60_000 } : f,
  )
  const figures = await expectExact(t, sent, [...scanner, ...people])
  t.equal(figures.clicks.unique, 10)
  const ownDelays = people.map((f) => f.at / 1000).sort((a, b) => a - b)
  const median = (ownDelays[4]! + ownDelays[5]!) / 2
  t.ok(
    Math.abs(figures.breakdowns.timeToFirstClick.medianSeconds - median) <= median * 0.12,
    `median time to first click ${figures.breakdowns.timeToFirstClick.medianSeconds} s is the people's own (${median} s)`,
  )
})

t.test('a scanner and people on the same carrier network: the scanner is a sweep, the people count', async (t) => {
  const sent = await send(t, 100)
  const scanner = sweep({
    recipients: range(0, 40),
    start: 4000,
    gap: 500,
    jitter: 0.1,
    ips: ['100.64.30.200'],
    userAgent: DESKTOP_CHROME,
    seed: 9,
  })
  const people = crowd({ recipients: range(20, 100), network: '100.64.30', medianMs: 30_000, seed: 10 })
  await expectExact(t, sent, [...scanner, ...people])
})

t.test('the same fetches written in one batch or in many give the same verdicts', async (t) => {
  const fetches = [
    ...sweep({
      recipients: range(0, 20),
      start: 1000,
      gap: 700,
      jitter: 0.1,
      ips: ['198.51.100.3'],
      userAgent: DESKTOP_CHROME,
      seed: 12,
    }),
    ...crowd({ recipients: range(10, 60), network: '100.64.40', medianMs: 20_000, seed: 13 }),
  ]
  const verdicts: string[][] = []
  for (const writes of ['every second', 'once at the end'] as const) {
    const sent = await send(t, 60)
    if (writes === 'every second') await play(sent, fetches)
    else {
      // Hold the writer back: every tap waits in the queue until the end.
      const start = sent.clock.now()
      for (const fetch of [...fetches].sort((a, b) => a.at - b.at)) {
        sent.clock.advance(start + fetch.at - sent.clock.now())
        const url = new URL(sent.message.recipients[fetch.recipient]!.links[0]!)
        await viaProxy(sent.origin, url, fetch)
      }
    }
    await settle(sent)
    verdicts.push((await exported(sent)).map((c) => `${c.recipient}:${c.reason ?? 'human'}`))
  }
  t.same(verdicts[1], verdicts[0])
  t.equal(verdicts[0]!.filter((v) => v.endsWith('sweep')).length, 20, JSON.stringify(verdicts[0]))
})

t.test('clicks count only once settled; the stats say how many wait', async (t) => {
  const sent = await send(t, 10)
  await play(
    sent,
    crowd({ recipients: range(0, 10), network: '100.64.50', medianMs: 5000, seed: 14 }).map((f) => ({
      ...f,
      at: Math.min(f.at, 9000),
    })),
  )
  const before = await stats(sent.app, sent.key, sent.message.id)
  t.has(
    before.clicks,
    { pending: 10, total: 0, unique: 0, bots: 0 },
    'taps of the last 20 s wait, counted nowhere else',
  )
  const after = await settle(sent)
  t.has(after.clicks, { pending: 0, total: 10, unique: 10, bots: 0 })
})

t.test('clicks after SWEEP_WINDOW_MS count at once; SWEEP_MIN_RECIPIENTS=0 turns the rule off', async (t) => {
  const late = await send(t, 8, { SWEEP_WINDOW_MS: '60000' })
  late.clock.advance(120_000)
  await play(
    late,
    sweep({ recipients: range(0, 8), start: 0, gap: 10, ips: ['198.51.100.1'], userAgent: DESKTOP_CHROME, seed: 1 }),
  )
  t.has((await stats(late.app, late.key, late.message.id)).clicks, { pending: 0, total: 8, unique: 8 })
  const off = await send(t, 8, { SWEEP_MIN_RECIPIENTS: '0' })
  await play(
    off,
    sweep({ recipients: range(0, 8), start: 0, gap: 10, ips: ['198.51.100.1'], userAgent: DESKTOP_CHROME, seed: 1 }),
  )
  t.has((await stats(off.app, off.key, off.message.id)).clicks, { pending: 0, total: 8, unique: 8 })
})

t.test('webhooks: a judged click is sent once settled, with its final verdict, never as human first', async (t) => {
  const clock = testClock()
  const app = await startApp(t, { clock, env: { ...SWEEP_ON, ...FAST_WEBHOOKS } })
  const { key } = await createTenant(app)
  const receiver = await startReceiver(t, () => 204)
  await app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: bearer(key),
    payload: { url: receiver.url, events: ['click'] },
  })
  const ids = range(0, 12).map((i) => `r${i}`)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ids }))
  const origin = await app.listen({ port: 0, host: '127.0.0.1' })
  const sent: Sent = { app, key, message, clock, origin }
  const scanner = sweep({
    recipients: range(0, 10),
    start: 1000,
    gap: 200,
    ips: ['198.51.100.5'],
    userAgent: DESKTOP_CHROME,
    seed: 15,
  })
  const person: Fetch = { at: 5000, recipient: 11, ip: '100.64.60.9', userAgent: PHONES[0]!, by: 'person' }
  await play(sent, [...scanner, person])
  await flushClicks(app)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal(receiver.received.length, 0, 'nothing is sent while the verdicts are pending')
  await settle(sent)
  await eventually(t, 'eleven click events', () => receiver.received.length >= 11)
  const events = receiver.received.map((r) => JSON.parse(r.body))
  t.equal(events.length, 11, 'one event per click')
  t.same(
    events.filter((e) => e.click.class === 'human').map((e) => e.recipientId),
    ['r11'],
    'only the person is human',
  )
  t.equal(events.filter((e) => e.click.reason === 'sweep').length, 10)
})

t.test('the dashboard says when clicks are being judged, then lists the sweep with the other reasons', async (t) => {
  const sent = await send(t, 10)
  await play(
    sent,
    sweep({
      recipients: range(0, 10),
      start: 1000,
      gap: 250,
      ips: ['198.51.100.6'],
      userAgent: DESKTOP_CHROME,
      seed: 16,
    }),
  )
  const cookie = await signIn(sent.app, sent.key)
  const page = () =>
    sent.app.inject({ url: `/dashboard/messages/${sent.message.id}`, headers: { host: OWN_HOST, cookie } })
  await flushClicks(sent.app)
  t.match((await page()).body, />10<\/span\s*>\s*clicks of the first minutes are still being judged/)
  await settle(sent)
  const body = (await page()).body
  t.notMatch(body, /still being judged/)
  t.match(body, /<code>sweep<\/code>[\s\S]{0,300}?>10<\/span/)
})
