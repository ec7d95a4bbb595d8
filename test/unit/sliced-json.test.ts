import t from 'tap'
import { parseJsonInSlices } from '../../src/sliced-json.js'

/** What parseJsonInSlices gives: the value, or that it threw. */
async function sliced(text: string): Promise<{ value: unknown } | 'threw'> {
  try {
    return { value: await parseJsonInSlices(text, JSON.parse) }
  } catch {
    return 'threw'
  }
}

const ids = (count: number, make: (i: number) => unknown = (i) => `cust-${i}`) =>
  Array.from({ length: count }, (_, i) => make(i))

t.test('a body with long arrays parses to what JSON.parse gives', async (t) => {
  const tricky = (i: number) =>
    [`a,b-${i}`, `quote " ${i}`, `back\\slash ${i}\\`, `] [ } { : ${i}`, `ünï ${i} 😀`, `\\"${i}`][i % 6]!
  const bodies = [
    { links: [{ url: 'https://shop.dk/x' }], recipients: ids(100_000) },
    { recipients: ids(30_000, tricky), text: 'Sale, "now" [x]' },
    { before: [1, 2], recipients: ids(20_000), after: ids(20_000, (i) => `b${i}`), n: null },
    { nested: ids(5_000, (i) => [i, { id: `x${i}`, list: [i, [i]] }]), tail: 'x' },
    { empty: [], recipients: ids(10_000, (i) => i) },
  ]
  for (const body of bodies) {
    for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
      t.same(await sliced(text), { value: JSON.parse(text) }, `${text.slice(0, 40)}… (${text.length} characters)`)
    }
  }
  const short = '{"recipients":["a"],"links":[]}'
  t.same(await sliced(short), { value: JSON.parse(short) }, 'a short body is parsed whole')
  const root = `[${JSON.stringify(ids(20_000))}]`
  t.same(await sliced(root), { value: JSON.parse(root) }, 'a root that is not an object is parsed whole')
})

t.test('text that JSON.parse refuses is refused', async (t) => {
  const good = JSON.stringify({ recipients: ids(40_000) })
  const cut = good.indexOf(',', 140_000)
  const bad = [
    good.slice(0, cut) + ',' + good.slice(cut), // two commas where a piece ends
    good.slice(0, cut) + ', ,' + good.slice(cut + 1),
    good.replace('["cust-0",', '[,"cust-0",'),
    good.replace('"cust-39999"]', '"cust-39999",]'),
    good.replace('"cust-20000"', '"cust-20000'),
    good.replace('"cust-20000"', 'cust-20000'),
    good.slice(0, -1),
    `${good}x`,
    good.replace('"cust-30000"', '"cust\\-30000"'),
    `{"recipients":["a","${'x'.repeat(200_000)}",]}`, // the trailing comma ends a piece
    `{"recipients":["a","${'x'.repeat(200_000)}", \n ]}`,
  ]
  for (const text of bad) {
    t.throws(() => JSON.parse(text))
    t.equal(await sliced(text), 'threw', text.slice(Math.max(0, cut - 20), cut + 20))
  }
  // A doubled comma at every comma around where the first piece ends (128 KiB in).
  const missed: number[] = []
  for (let at = good.indexOf(',', 130_500); at !== -1 && at < 132_500; at = good.indexOf(',', at + 1)) {
    if ((await sliced(`${good.slice(0, at)},${good.slice(at)}`)) !== 'threw') missed.push(at)
  }
  t.same(missed, [], 'no doubled comma is taken')
})

t.test('a repeated member name is left to the whole parse', async (t) => {
  const text = `{"recipients":${JSON.stringify(ids(20_000))},"recipients":["last"]}`
  t.equal(await sliced(text), 'threw')
  t.same(JSON.parse(text), { recipients: ['last'] }, 'which keeps the last one')
})

t.test('the event loop runs while a long body is parsed', async (t) => {
  let turns = 0
  const counting = setInterval(() => turns++, 0)
  const value = await parseJsonInSlices(JSON.stringify({ recipients: ids(100_000) }), JSON.parse)
  clearInterval(counting)
  t.equal((value as { recipients: string[] }).recipients.length, 100_000)
  t.ok(turns > 0, `timers ran ${turns} times during the parse`)
})
