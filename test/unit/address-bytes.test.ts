import { randomInt } from 'node:crypto'
import t from 'tap'
import {
  ADDRESS_BYTES,
  IPV4,
  IPV6,
  MAPPED_IPV4,
  packAddress,
  UNPACKED,
  unpackAddress,
} from '../../src/clicks/address-bytes.js'

const slot = new Uint8Array(ADDRESS_BYTES)
/** What a queued click's address reads back as: the packed form, or the text itself when not packed. */
const roundTrip = (text: string) => {
  const kind = packAddress(text, slot, 0)
  return { kind, back: kind === UNPACKED ? text : unpackAddress(kind, slot, 0) }
}

/** RFC 5952 spelling of 16 bytes, as the WHATWG URL parser writes an IPv6 host. */
const canonical = (bytes: Uint8Array) => {
  const groups = Array.from({ length: 8 }, (_, g) => ((bytes[2 * g]! << 8) | bytes[2 * g + 1]!).toString(16))
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
}

/** Random bytes with runs of zero groups, where the spelling rules bite. */
const randomAddressBytes = () => {
  const bytes = new Uint8Array(16)
  for (let g = 0; g < 8; g++) {
    const pick = randomInt(4)
    const value = pick < 2 ? 0 : pick === 2 ? randomInt(16) : randomInt(65_536)
    bytes[2 * g] = value >>> 8
    bytes[2 * g + 1] = value & 255
  }
  return bytes
}

t.test('addresses as Node names socket peers are packed and read back exactly', async (t) => {
  const cases: Array<[string, number]> = [
    ['203.0.113.7', IPV4],
    ['0.0.0.0', IPV4],
    ['255.255.255.255', IPV4],
    ['::ffff:198.51.100.23', MAPPED_IPV4],
    ['2001:db8::1', IPV6],
    ['::1', IPV6],
    ['::', IPV6],
    ['fe80::', IPV6],
    ['2a02:aa7:4001:1c2d:3e4f:5a6b:7c8d:9e0f', IPV6],
    ['1:0:0:2::', IPV6],
    ['1::2:0:0:3', IPV6],
  ]
  for (const [text, kind] of cases) t.same(roundTrip(text), { kind, back: text }, text)
})

t.test('every RFC 5952 spelling of random addresses is packed and read back exactly', async (t) => {
  for (let i = 0; i < 20_000; i++) {
    const text = canonical(randomAddressBytes())
    const { kind, back } = roundTrip(text)
    if (kind !== IPV6 || back !== text) return t.fail(`${text}: kind ${kind}, read back ${back}`)
  }
  t.pass('20,000 addresses')
})

t.test('other spellings are left as text, so a stored network or hash never depends on packing', async (t) => {
  for (const text of [
    '2001:DB8::1', // uppercase
    '2001:0db8::1', // leading zero
    '2001:db8:0:0:0:0:0:1', // zeros not compressed
    '2001:db8::0:1', // not the longest run
    '1:0::2:0:0:3', // `::` on the shorter run
    '1:2:3:4:5:6::7', // `::` for a single group
    '::1.2.3.4',
    '64:ff9b::192.0.2.1',
    'fe80::1%eth0',
    '01.2.3.4',
    '1.2.3.256',
    '1.2.3',
    '1.2.3.4.5',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    ':1',
    '1:',
    ':::',
    '12345::',
    'unknown',
    '',
  ]) {
    t.same(roundTrip(text), { kind: UNPACKED, back: text }, text)
  }
  // Mutated canonical spellings either pack to themselves or stay text: never a different address.
  for (let i = 0; i < 20_000; i++) {
    const text = canonical(randomAddressBytes())
    const at = randomInt(text.length)
    const mutated = text.slice(0, at) + ':0aF.'[randomInt(5)] + text.slice(at + randomInt(2))
    const { back } = roundTrip(mutated)
    if (back !== mutated) return t.fail(`${mutated} read back as ${back}`)
  }
  t.pass('20,000 mutated spellings')
})
