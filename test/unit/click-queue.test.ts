import fc from 'fast-check'
import t from 'tap'
import type { CheckedTap, Tap, TapBatch } from '../../src/click.js'
import { batchRows, ClickQueue } from '../../src/clicks/click-queue.js'
import { RecipientTokens } from '../../src/links/tokens.js'
import { UA } from '../helpers.js'

const tokens = new RecipientTokens('a-secret-for-the-queue-tests-0123456789')
const USER_AGENTS = [UA.iphoneSafari, UA.androidChrome, UA.googlebot, UA.whatsapp, '', undefined]
const ADDRESSES = [
  '203.0.113.7',
  '::ffff:198.51.100.23',
  '2001:db8::1',
  '2001:DB8::2',
  'fe80::1%eth0',
  'junk',
  undefined,
]

/** The tap number `n`, varied in every column the queue packs differently. */
function tapNumber(n: number): Tap {
  return { ...(tapMemo[n] ??= makeTap(n)) }
}

// Taps are made, and their tokens checked, once per number: the HMACs would otherwise
// be most of what this file spends.
const tapMemo: Tap[] = []
const verified = new Map<string, number | null>()

function makeTap(n: number): Tap {
  const messageId = 1 + (n % 3)
  const kind = n % 5
  const token =
    kind === 0
      ? null
      : kind === 1
        ? tokens.issue(messageId, n)
        : kind === 2
          ? tokens.issue(messageId + 1, n)
          : kind === 3
            ? tokens.issue(messageId, 2 ** 32 + n)
            : 'zz'
  return {
    at: 1_700_000_000_000 + n,
    messageId,
    linkId: 10 + (n % 7),
    token,
    head: n % 11 === 0,
    // Distinct user agents now and then, so the dictionaries grow and are rebuilt.
    userAgent: n % 13 === 0 ? `agent ${n}` : USER_AGENTS[n % USER_AGENTS.length],
    address: n % 17 === 0 ? `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` : ADDRESSES[n % ADDRESSES.length],
    clickId: n % 4 === 0 ? `click-${n}` : null,
  }
}

/** What a tap reads back as once written: its token checked, indexes past 2^31 anonymous. */
function expected(tap: Tap): CheckedTap {
  const key = `${tap.messageId} ${tap.token}`
  let index = verified.get(key)
  if (index === undefined) {
    index = tap.token === null ? null : tokens.verify(tap.messageId, tap.token)
    verified.set(key, index)
  }
  return {
    at: tap.at,
    messageId: tap.messageId,
    linkId: tap.linkId,
    recipientIdx: index !== null && index <= 0x7fffffff ? index : null,
    head: tap.head,
    userAgent: tap.userAgent,
    address: tap.address,
    clickId: tap.clickId,
  }
}

type Step = { push: number } | { take: number } | { putBack: true }

t.test('the queue gives back every tap in order, as tapped, across chunks, put-backs and restarts', async (t) => {
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ push: fc.integer({ min: 1, max: 40_000 }) }),
    fc.record({ take: fc.integer({ min: 1, max: 30_000 }) }),
    fc.constant({ putBack: true as const }),
  )
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
      const queue = new ClickQueue()
      const model: Tap[] = []
      let next = 0
      let lastTaken: { batch: TapBatch; taps: Tap[] } | null = null
      for (const s of steps) {
        if ('push' in s) {
          // One object for every tap, as the redirect does.
          const reused = tapNumber(0)
          for (let i = 0; i < s.push; i++) {
            Object.assign(reused, tapNumber(next++))
            queue.push(reused)
            model.push(tapNumber(next - 1))
          }
        } else if ('take' in s) {
          const batch = queue.take(s.take)
          const taps = model.splice(0, s.take)
          t.equal(batch.length, taps.length)
          const rows = batchRows(batch, tokens)
          const wrong = rows.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(expected(taps[i]!)))
          if (wrong !== -1)
            t.fail(`click ${wrong} of the batch`, { found: rows[wrong], wanted: expected(taps[wrong]!) })
          lastTaken = { batch, taps }
        } else if (lastTaken !== null) {
          queue.putBack(lastTaken.batch)
          model.unshift(...lastTaken.taps)
          lastTaken = null
        }
        t.equal(queue.length, model.length)
      }
      const rest = batchRows(queue.take(queue.length), tokens)
      if (JSON.stringify(rest) !== JSON.stringify(model.map(expected))) t.fail('the clicks left at the end')
      t.equal(queue.length, 0)
    }),
    { numRuns: 25 },
  )
})

t.test('a queue that never empties keeps only the user agents and addresses it still holds', async (t) => {
  const queue = new ClickQueue()
  const model: Tap[] = []
  let next = 0
  // Every tap a user agent and an unpackable address of its own: 300,000 of each over
  // the run, with about 100,000 queued at any time.
  const distinct = (n: number): Tap => ({ ...tapNumber(n), userAgent: `agent ${n}`, address: `host-${n}` })
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < 10_000; i++) {
      queue.push(distinct(next))
      model.push(distinct(next++))
    }
    if (round < 10) continue
    const rows = batchRows(queue.take(10_000), tokens)
    const taps = model.splice(0, 10_000)
    const wrong = rows.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(expected(taps[i]!)))
    if (wrong !== -1)
      return t.fail(`round ${round}, click ${wrong}`, { found: rows[wrong], wanted: expected(taps[wrong]!) })
  }
  // Without a rebuild it would hold all 600,000; at most the queued ones and one chunk's worth more.
  t.ok(queue.stringsHeld <= 2 * (110_000 + 16_384), `strings held: ${queue.stringsHeld}`)
  t.equal(JSON.stringify(batchRows(queue.take(queue.length), tokens)), JSON.stringify(model.map(expected)))
})
