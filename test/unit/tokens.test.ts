import { randomInt } from 'node:crypto'
import t from 'tap'
import { BASE62 } from '../../src/base62.js'
import { RecipientTokens } from '../../src/links/tokens.js'

const tokens = new RecipientTokens('a-secret-for-the-token-tests-0123456789')

t.test('a short link stays within 14 characters after the host up to 1,000,000 recipients', async (t) => {
  const code = 'Ab3dE9'
  for (const index of [0, 61, 62, 238_327, 238_328, 999_999]) {
    const path = `${code}-${tokens.issue(42, index)}`
    t.ok(path.length <= 14, `recipient ${index}: ${path} (${path.length})`)
  }
  t.equal(tokens.issue(42, 999_999).length, 7)
})

t.test('every issued token verifies to its own index', async (t) => {
  for (let index = 0; index < 5_000; index++) {
    if (tokens.verify(7, tokens.issue(7, index)) !== index) {
      t.fail(`index ${index}`)
      return
    }
  }
  t.pass('5,000 tokens round-trip')
  t.equal(tokens.verify(8, tokens.issue(7, 123)), null, 'not for another message')
  t.equal(new RecipientTokens('another-secret-0123456789-0123456789').verify(7, tokens.issue(7, 123)), null)
})

t.test('malformed tokens are refused without throwing', async (t) => {
  for (const token of ['', 'a', 'ab', 'abc', '0abcd', '1234567890ab', 'ab-c1', 'ÆØÅÆ', '\u0000abc']) {
    t.equal(tokens.verify(1, token), null, JSON.stringify(token))
  }
})

t.test('a guessed token is accepted at most once in 200,000 tries', async (t) => {
  // Guess MACs for recipient indexes that exist: the best a forger can do.
  const tries = 1_000_000
  let accepted = 0
  for (let i = 0; i < tries; i++) {
    const index = randomInt(1000)
    const guess =
      (index === 0 ? '0' : encode(index)) + BASE62[randomInt(62)]! + BASE62[randomInt(62)]! + BASE62[randomInt(62)]!
    if (tokens.verify(99, guess) !== null) accepted++
  }
  // Expected 1,000,000 / 238,328 ≈ 4.2. Allowing 5 per 1,000,000 would be the 1-in-200,000
  // bound exactly; 12 leaves room for chance (P(X ≥ 13) < 0.001 at the real rate) while
  // a 1-in-100,000 token (expected 10, P(X ≤ 12) ≈ 0.79) would usually fail.
  t.ok(accepted <= 12, `${accepted} of ${tries} guesses accepted`)
})

function encode(value: number): string {
  let out = ''
  while (value > 0) {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
}

t.test('tokens issued before keep their spelling, so links already sent keep counting', async (t) => {
  // Issued with this secret by the first implementation (jedisct1's siphash package).
  const issued: Array<[messageId: number, index: number, token: string]> = [
    [1, 0, '0o01'],
    [1, 61, 'zx1S'],
    [7, 62, '105iN'],
    [42, 3_843, 'zzwx5'],
    [42, 238_327, 'zzzK99'],
    [42, 999_999, '4C91xtS'],
    [123_456, 14_776_335, 'zzzzGLM'],
    [Number.MAX_SAFE_INTEGER, 56_800_235_583, 'zzzzzzdCY'],
  ]
  for (const [messageId, index, token] of issued) {
    t.equal(tokens.issue(messageId, index), token, `message ${messageId}, recipient ${index}`)
    t.equal(tokens.verify(messageId, token), index)
  }
})
