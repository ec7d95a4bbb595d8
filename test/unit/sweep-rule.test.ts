import t from 'tap'
import type { ClickMessageFacts } from '../../src/db/store.js'
import type { ClickRow } from '../../src/click.js'
import {
  isSweep,
  judgedBySweepRule,
  NEIGHBOURS_EACH_SIDE,
  sweepIdentity,
  sweepsAt,
  type SweepSettings,
} from '../../src/clicks/sweep-rule.js'

const SETTINGS: SweepSettings = {
  minRecipients: 8,
  spanMs: 20_000,
  windowMs: 600_000,
  fastGapMs: 200,
  maxGapVariation: 0.25,
}

const fetches = (times: number[]) => times.map((at, recipientIdx) => ({ recipientIdx, at }))

t.test('evenly spaced fetches of enough recipients are a sweep; fewer are not', async (t) => {
  const even = fetches([0, 1000, 2050, 2950, 4000, 5020, 6000, 7010])
  t.ok(isSweep(even, 3000, SETTINGS))
  t.notOk(isSweep(even.slice(0, 7), 3000, SETTINGS), 'seven recipients are too few')
  t.notOk(isSweep(even, 3000, { ...SETTINGS, minRecipients: 9 }))
})

t.test('irregular, person-like gaps are not a sweep, however busy', async (t) => {
  // Gaps drawn from an exponential distribution (people tapping independently).
  const gaps = [310, 2900, 120, 1800, 640, 4100, 90, 2200, 1500, 60, 3300, 700]
  let at = 0
  const times = gaps.map((gap) => (at += gap))
  t.notOk(isSweep(fetches(times), times[5]!, SETTINGS))
})

t.test('fetches faster than people, however uneven, are a sweep', async (t) => {
  const burst = fetches([0, 5, 150, 160, 400, 410, 800, 1200])
  t.ok(isSweep(burst, 400, SETTINGS), 'eight recipients in 1.2 s')
  t.notOk(isSweep(burst, 400, { ...SETTINGS, fastGapMs: 100 }), 'too uneven to be even, too slow for 100 ms')
})

t.test('each recipient counts once, at its earliest fetch; fetches outside the span do not count', async (t) => {
  const repeated = [0, 1000, 2000, 3000].flatMap((at) => [0, 1, 2].map((recipientIdx) => ({ recipientIdx, at })))
  t.notOk(isSweep(repeated, 1000, SETTINGS), 'three recipients fetched again and again are three')
  const spread = fetches([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000])
  t.notOk(isSweep(spread, 40_000, SETTINGS), 'only five of them within 20 s either side')
  t.ok(isSweep(spread, 40_000, { ...SETTINGS, spanMs: 40_000 }))
})

t.test('judged together, fetches get the verdicts isSweep gives each over its span', async (t) => {
  // A sweep, people around it, and a second sweep later: small neighbourhoods, no cut.
  let seed = 7
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  const times = [
    ...Array.from({ length: 30 }, (_, i) => 1_000 + i * 700),
    ...Array.from({ length: 40 }, () => Math.round(next() * 120_000)),
    ...Array.from({ length: 20 }, (_, i) => 200_000 + i * 150),
  ]
  const all = fetches(times)
  t.same(
    sweepsAt(all, times, SETTINGS),
    times.map((at) => isSweep(all, at, SETTINGS)),
  )
})

t.test("a scanner's thirty thousand fetches are judged on their nearest neighbours", async (t) => {
  // 30,000 recipients 2 ms apart: each span holds up to 20,000 fetches; the cut keeps
  // the cost per fetch bounded and the verdict is the same.
  const times = Array.from({ length: 30_000 }, (_, i) => i * 2)
  const verdicts = sweepsAt(fetches(times), times, SETTINGS)
  t.equal(verdicts.filter(Boolean).length, times.length, 'every fetch a sweep')
  t.ok(NEIGHBOURS_EACH_SIDE * 2 + 1 >= SETTINGS.minRecipients, 'the cut leaves room for the rule')
  // A busy crowd: 5,000 people about 400 ms apart, at irregular moments.
  const crowd = Array.from({ length: 5_000 }, (_, i) => i * 400 + (i % 7) * 97 + ((i * 7_919) % 331))
  t.equal(sweepsAt(fetches(crowd), crowd, SETTINGS).filter(Boolean).length, 0, 'a busy crowd stays people')
})

t.test('which clicks the rule judges, and their identity', async (t) => {
  const message: ClickMessageFacts = {
    tenantId: 1,
    publicId: 'msg_1',
    recipients: 10,
    links: 1,
    createdAt: 1_000,
    lastDeliveryAt: null,
  }
  const click: ClickRow = {
    at: 5_000,
    messageId: 1,
    linkId: 1,
    recipientIdx: 3,
    class: 'human',
    reason: null,
    userAgent: 'Mozilla/5.0 (iPhone)',
    network: '100.64.1.0/24',
    clickId: null,
    device: 'mobile',
    os: 'iOS',
    browser: 'Mobile Safari',
  }
  t.ok(judgedBySweepRule(click, message, SETTINGS))
  t.notOk(judgedBySweepRule(click, message, { ...SETTINGS, minRecipients: 0 }), 'off')
  t.notOk(judgedBySweepRule({ ...click, at: 601_000 }, message, SETTINGS), 'after the window')
  t.notOk(judgedBySweepRule(click, { ...message, recipients: 7 }, SETTINGS), 'too few recipients to sweep')
  t.notOk(judgedBySweepRule({ ...click, class: 'bot', reason: 'bot_user_agent' }, message, SETTINGS), 'a bot already')
  t.notOk(judgedBySweepRule({ ...click, recipientIdx: null }, message, SETTINGS), 'anonymous')
  t.notOk(judgedBySweepRule({ ...click, network: null }, message, SETTINGS), 'no network kept')
  t.equal(sweepIdentity('100.64.1.0/24', 'a'), sweepIdentity('100.64.1.0/24', 'a'))
  t.not(sweepIdentity('100.64.1.0/24', 'a'), sweepIdentity('100.64.2.0/24', 'a'))
  t.not(sweepIdentity('100.64.1.0/24', 'ab'), sweepIdentity('100.64.1.0/24a', 'b'), 'the parts stay apart')
  t.match(sweepIdentity('n', 'u'), /^[0-9a-f]{16}$/)
})

t.test('an identity is the same value whichever identities were worked out before it', async (t) => {
  // Stored with pending clicks: a value that changed would split one scanner in two.
  const one = 'a2d097a88d6cd322'
  const other = 'ed2363566a9c497f'
  t.equal(sweepIdentity('100.64.1.0/24', 'a'), one)
  t.equal(sweepIdentity('100.64.1.0/24', 'a'), one, 'again, right after')
  t.equal(sweepIdentity('100.64.2.0/24', 'a'), other, 'another network')
  t.equal(sweepIdentity('100.64.1.0/24', 'a'), one, 'back to the first')
  t.not(sweepIdentity('100.64.1.0/24', 'b'), one, 'another user agent')
})
