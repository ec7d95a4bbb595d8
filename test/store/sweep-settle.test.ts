import t from 'tap'
import type { ClickRow } from '../../src/click.js'
import { BurstRule } from '../../src/clicks/burst.js'
import { recordClicks } from '../../src/clicks/click-batch.js'
import { settleSweeps } from '../../src/clicks/settle-sweeps.js'
import { firstClickBucket } from '../../src/first-click-delay.js'
import { forEachBackend, humanClick } from '../fixtures/store-backends.js'

const SCANNER = { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/125.0', network: '198.51.100.0/24' }
const PHONE = { userAgent: 'Mozilla/5.0 (iPhone)', network: '100.64.1.0/24', device: 'mobile', os: 'iOS' }
const OTHER_PHONE = { userAgent: 'Mozilla/5.0 (Linux; Android 14)', network: '100.64.1.0/24', device: 'mobile' }

/** The sweep rule's defaults, burst on and too_fast off. */
function rules(): BurstRule {
  return new BurstRule({
    tooFastMs: 0,
    burstWindowMs: 10_000,
    maxTokens: 1_000,
    sweep: { minRecipients: 8, spanMs: 20_000, windowMs: 600_000, fastGapMs: 200, maxGapVariation: 0.25 },
  })
}

function click(fields: Partial<ClickRow> & Pick<ClickRow, 'at' | 'messageId' | 'linkId'>): ClickRow {
  return { ...humanClick(fields.at, fields.messageId, fields.linkId, null), ...fields }
}

const recipients = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`)

forEachBackend(t, (t, seed) => {
  const { store } = seed

  /** A message created at 10 s, ten evenly spaced scanner fetches from 11 s, and a person's own tap of r0. */
  async function sweptMessage() {
    const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, recipients(20))
    const [l0] = message.links.map((link) => link.id) as [number]
    const m = message.id
    const scanner = Array.from({ length: 10 }, (_, i) =>
      click({ at: 11_000 + 500 * i, messageId: m, linkId: l0, recipientIdx: i, ...SCANNER }),
    )
    const person = click({ at: 13_100, messageId: m, linkId: l0, recipientIdx: 0, ...PHONE })
    return { message, m, l0, scanner, person }
  }

  t.test('judged clicks wait, then count exactly what their final verdicts say, once', async (t) => {
    const { m, l0, scanner, person } = await sweptMessage()
    const judging = rules()
    await recordClicks(store, scanner.slice(0, 5), judging)
    await recordClicks(store, [...scanner.slice(5), person], judging)
    let counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 0, unique: 0, bots: 0, previews: 0 }, 'nothing counts before settling')
    t.equal(counters.pendingClicks, 11)
    t.equal(await settleSweeps(store, 11_000 + 500 * 9 + 20_000 + 1, judging), 11)
    counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 1, unique: 1, bots: 10, previews: 0 }, 'the person, after the scanner')
    t.equal(counters.pendingClicks, 0)
    t.same(counters.byReason, { sweep: 10 })
    t.same(counters.links[0], { linkId: l0, clicks: { total: 1, unique: 1, bots: 10, previews: 0 } })
    const firstClick = counters.breakdowns.filter((b) => b.dimension === 'first_click')
    t.same(
      firstClick.map((b) => b.clicks),
      [1],
      'one first click: the person’s own',
    )
    t.equal(await store.lastHumanClick(m, 0), 13_100, 'with the time of their own tap')
    const stored = await store.listClicks(m, { xid: 0, id: 0 }, 100)
    t.same(
      stored.map((c) => c.reason ?? c.class),
      [...Array<string>(5).fill('sweep'), ...Array<string>(5).fill('sweep'), 'human'],
    )

    t.equal(await settleSweeps(store, 1_000_000, judging), 0, 'a second pass finds nothing')
    t.same((await store.messageCounters(m)).clicks, counters.clicks, 'and changes nothing')
  })

  t.test('a pass reads the fetches it judges and only the nearest ones either side', async (t) => {
    const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, recipients(1_000))
    const m = message.id
    const l0 = message.links[0]!.id
    // A scanner fetching 1,000 recipients 10 ms apart: every fetch within the span of every other.
    const scanner = Array.from({ length: 1_000 }, (_, i) =>
      click({ at: 11_000 + 10 * i, messageId: m, linkId: l0, recipientIdx: i, ...SCANNER }),
    )
    const judging = rules()
    await recordClicks(store, scanner, judging)
    const [due] = await store.dueSweepFetches(1_000_000, 1)
    const window = { first: 11_000 + 10 * 500, last: 11_000 + 10 * 510, spanMs: 20_000, nearest: 5 }
    const read = await store.sweepNeighbours(m, [due!.identity], window)
    t.same(
      read.map((row) => (row.at - 11_000) / 10).sort((a, b) => a - b),
      Array.from({ length: 21 }, (_, i) => 495 + i),
      'the 11 fetches in the window and 5 either side, no more',
    )
    t.ok(
      read.every((row) => row.identity === due!.identity && row.recipientIdx === (row.at - 11_000) / 10),
      'each with its recipient',
    )
    t.equal(await settleSweeps(store, 1_000_000, judging), 1_000)
    const counters = await store.messageCounters(m)
    t.same(counters.byReason, { sweep: 1_000 }, 'every fetch judged a sweep, as with all its neighbours read')
    t.equal(counters.pendingClicks, 0)
  })

  t.test('two passes at once settle each click once; no counter goes below zero', async (t) => {
    const { m, scanner, person } = await sweptMessage()
    const judging = rules()
    await recordClicks(store, [...scanner, person], judging)
    const settled = await Promise.all([settleSweeps(store, 100_000, judging), settleSweeps(store, 100_000, judging)])
    t.equal(settled[0] + settled[1], 11, 'the eleven clicks settled by one pass or the other, not both')
    const counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 1, unique: 1, bots: 10, previews: 0 })
    t.equal(counters.pendingClicks, 0)
    t.same(counters.byReason, { sweep: 10 })
  })

  t.test('a settle pass that finds a click settled meanwhile stores nothing', async (t) => {
    const { m, scanner } = await sweptMessage()
    const judging = rules()
    await recordClicks(store, scanner, judging)
    const realSettle = store.settleClicks.bind(store)
    let stale: Parameters<typeof store.settleClicks>[0] | null = null
    store.settleClicks = async (settlement) => {
      stale ??= structuredClone(settlement)
      return realSettle(settlement)
    }
    try {
      await settleSweeps(store, 100_000, judging)
    } finally {
      store.settleClicks = realSettle
    }
    const before = await store.messageCounters(m)
    t.equal(await store.settleClicks(stale!), false, 'the same settlement again is refused')
    t.same(await store.messageCounters(m), before, 'and moved no counter')
  })

  t.test('clicks judged while the rule was on settle as people once it is off', async (t) => {
    const { m, scanner } = await sweptMessage()
    await recordClicks(store, scanner, rules())
    const off = new BurstRule({ tooFastMs: 0, burstWindowMs: 10_000, maxTokens: 1_000 })
    t.equal(await settleSweeps(store, 100_000, off), 10)
    const counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 10, unique: 10, bots: 0, previews: 0 })
    t.equal(counters.pendingClicks, 0)
  })

  t.test('a judged tap earlier than the stored first click takes its place', async (t) => {
    const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, recipients(10))
    const [l0, l1] = message.links.map((link) => link.id) as [number, number]
    const m = message.id
    const judging = rules()
    // The judged tap waits; the same person's tap after the window is written and counted first.
    await recordClicks(store, [click({ at: 12_000, messageId: m, linkId: l0, recipientIdx: 3, ...PHONE })], judging)
    await recordClicks(store, [click({ at: 700_000, messageId: m, linkId: l0, recipientIdx: 3, ...PHONE })], judging)
    t.same((await store.messageCounters(m)).clicks, { total: 1, unique: 1, bots: 0, previews: 0 })
    await recordClicks(store, [click({ at: 701_000, messageId: m, linkId: l1, recipientIdx: 3, ...PHONE })], judging)
    await settleSweeps(store, 800_000, judging)
    const counters = await store.messageCounters(m)
    t.same(counters.clicks, { total: 3, unique: 1, bots: 0, previews: 0 }, 'still one clicker')
    t.same(
      counters.breakdowns.filter((b) => b.dimension === 'first_click' && b.clicks !== 0),
      [{ dimension: 'first_click', value: String(firstClickBucket(2_000)), clicks: 1 }],
      'the first-click delay is the earlier tap’s (2 s)',
    )
    t.equal(await store.lastHumanClick(m, 3), 701_000)
    t.same(
      counters.links.map((link) => link.clicks.unique),
      [1, 1],
    )
  })

  t.test('the same fetches in any order and batching get the same verdicts', async (t) => {
    const fetches = (m: number, link: number) => [
      ...Array.from({ length: 12 }, (_, i) =>
        click({ at: 11_000 + 700 * i + (i % 3) * 40, messageId: m, linkId: link, recipientIdx: i, ...SCANNER }),
      ),
      ...[3_100, 7_900, 8_300, 15_200, 31_000, 33_000, 52_000].map((delay, i) =>
        click({
          at: 10_000 + delay,
          messageId: m,
          linkId: link,
          recipientIdx: 6 + i,
          ...(i % 2 === 0 ? PHONE : OTHER_PHONE),
        }),
      ),
    ]
    const verdicts: string[][] = []
    for (const order of ['in time order, one batch', 'shuffled, in four batches'] as const) {
      const message = await seed.message(await seed.tenant(), { createdAt: 10_000 }, recipients(20))
      const m = message.id
      let clicks = fetches(m, message.links[0]!.id)
      const judging = rules()
      if (order === 'in time order, one batch') await recordClicks(store, clicks, judging)
      else {
        clicks = [...clicks].sort((a, b) => ((a.at * 7919) % 13) - ((b.at * 7919) % 13) || b.at - a.at)
        for (let i = 0; i < clicks.length; i += 5) await recordClicks(store, clicks.slice(i, i + 5), judging)
      }
      await settleSweeps(store, 200_000, judging)
      const stored = await store.listClicks(m, { xid: 0, id: 0 }, 100)
      verdicts.push(stored.map((c) => `${c.recipientId}@${c.at}:${c.reason ?? c.class}`).sort())
    }
    t.same(verdicts[1], verdicts[0])
    t.equal(verdicts[0]!.filter((v) => v.endsWith(':sweep')).length, 12, 'the twelve scanner fetches')
    t.equal(verdicts[0]!.filter((v) => v.endsWith(':human')).length, 7, 'the seven people')
  })
})
