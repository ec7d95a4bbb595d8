import t from 'tap'
import { countSegments } from '../../src/messages/segments.js'
import { createTenant, json, postMessage, startApp } from '../helpers.js'

const a = (n: number) => 'a'.repeat(n)
const gsm = (characters: number, parts: number) => ({ encoding: 'GSM-7', characters, parts })
const ucs = (characters: number, parts: number) => ({ encoding: 'UCS-2', characters, parts })

t.test('GSM-7: 160 characters in one part, 153 per part beyond', async (t) => {
  t.same(countSegments(a(160)), gsm(160, 1))
  t.same(countSegments(a(161)), gsm(161, 2))
  t.same(countSegments(a(306)), gsm(306, 2), '2 × 153')
  t.same(countSegments(a(307)), gsm(307, 3))
  t.same(countSegments(a(459)), gsm(459, 3), '3 × 153')
  t.same(countSegments(''), gsm(0, 1))
})

t.test('GSM-7 extension characters cost two septets and are never split', async (t) => {
  t.same(countSegments(`${a(158)}€`), gsm(160, 1), '158 + € fills one part exactly')
  t.same(countSegments(`${a(159)}€`), gsm(161, 2), '159 + € is one septet too many')
  for (const char of ['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\f']) {
    t.same(countSegments(char), gsm(2, 1), JSON.stringify(char))
  }
  // 152 + € would put €'s escape septet at 153 and the character itself in part 2;
  // instead the whole € moves: 152 in part 1, € + 10 = 12 septets in part 2.
  t.same(countSegments(`${a(152)}€${a(10)}`), gsm(164, 2))
  // 306 septets, which a plain count would put in 2 × 153, need 3 parts when an
  // extension character sits on the boundary: part 1 holds 152, part 2 € + 151, part 3 1.
  t.same(countSegments(`${a(152)}€${a(152)}`), gsm(306, 3))
  t.same(countSegments(`${a(153)}€${a(151)}`), gsm(306, 2), '€ starts part 2: 2 × 153')
  t.same(countSegments(`${a(153)}${a(151)}€`), gsm(306, 2), '€ ends exactly at septet 306')
})

t.test('a line feed is one GSM-7 character', async (t) => {
  t.same(countSegments(`${a(159)}\n`), gsm(160, 1))
  t.same(countSegments(`${a(160)}\n`), gsm(161, 2))
  t.same(countSegments('a\r\nb'), gsm(4, 1), 'CR and LF are one septet each')
})

t.test('one character outside GSM-7 makes the whole text UCS-2: 70 in one part, 67 beyond', async (t) => {
  t.same(countSegments(`Ł${a(69)}`), ucs(70, 1))
  t.same(countSegments(`Ł${a(70)}`), ucs(71, 2))
  t.same(countSegments(`—${a(69)}`), ucs(70, 1), 'an em dash is not GSM-7')
  t.same(countSegments(`—${a(133)}`), ucs(134, 2), '2 × 67')
  t.same(countSegments(`—${a(134)}`), ucs(135, 3))
  t.same(countSegments(`Ł${a(68)}€`), ucs(70, 1), '€ is one unit in UCS-2, not two')
  t.same(countSegments('ç'), ucs(1, 1), 'only the capital Ç is in the GSM-7 table')
})

t.test('an emoji is two UTF-16 units and never split across parts', async (t) => {
  t.same(countSegments(`😀${a(68)}`), ucs(70, 1))
  t.same(countSegments(`😀${a(69)}`), ucs(71, 2))
  // 66 + 😀 would need units 67 and 68 of part 1, which holds 67: the emoji moves whole.
  t.same(countSegments(`${a(66)}😀${a(1)}`), ucs(69, 1), 'within 70 it is one part')
  t.same(countSegments(`${a(66)}😀${a(10)}`), ucs(78, 2))
  t.same(countSegments(`${a(65)}😀${a(67)}`), ucs(134, 2), '65 + 😀 fills part 1 exactly')
  // 134 units, which a plain count would put in 2 × 67, need 3 parts with the emoji
  // on the boundary: part 1 holds 66, part 2 😀 + 65, part 3 the last 1.
  t.same(countSegments(`${a(66)}😀${a(66)}`), ucs(134, 3))
})

t.test('the API reports GSM-7 figures before and after rewriting', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  // A 129-character lead-in + a space + 30 characters of URL: 160, one part.
  const lead = `${a(129)} `
  const url = 'https://shop.dk/a-long-path-x1'
  t.equal(url.length, 30)
  const fits = json(await postMessage(app, key, { text: lead + url, recipients: ['r'] }))
  t.same(fits.segments.original, gsm(160, 1))
  // The short link, https://s.shop.dk/ + code + - + 4-character token, is 29: 159.
  t.same(fits.segments.rewritten, gsm(159, 1))
  t.same(fits.recipients[0].segments, gsm(159, 1))

  // One € more: 162 original (2 parts), 161 rewritten (still 2 parts).
  const over = json(await postMessage(app, key, { text: `€${lead}${url}`, recipients: ['r'] }))
  t.same(over.segments.original, gsm(162, 2))
  t.same(over.recipients[0].segments, gsm(161, 2))
  t.same(over.segments.rewritten, gsm(161, 2))
})
