import { randomBytes, randomInt } from 'node:crypto'
import SipHash from 'siphash'
import t from 'tap'
import { SipHash24 } from '../../src/links/siphash.js'

/** The low 53 bits of a little-endian 64-bit hash written as 16 hex digits, byte by byte. */
function low53(littleEndianHex: string): number {
  const bytes = Buffer.from(littleEndianHex, 'hex')
  return (bytes.readUInt32LE(4) & 0x1fffff) * 0x100000000 + bytes.readUInt32LE(0)
}

t.test('SipHash-2-4 matches the reference test vectors', async (t) => {
  // vectors.h of the reference implementation: key 00 01 … 0f, message i = bytes 00 … i-1.
  // Every byte is below 0x80, so each message is the ASCII string of those code points.
  const vectors = [
    '310e0edd47db6f72',
    'fd67dc93c539f874',
    '5a4fa9d909806c0d',
    '2d7efbd796666785',
    'b7877127e09427cf',
    '8da699cd64557618',
    'cee3fe586e46c9cb',
    '37d1018bf50002ab',
    '6224939a79f5f593',
    'b0e4a90bdf82009e',
    'f3b9dd94c5bb5d7a',
    'a7ad6b22462fb3f4',
    'fbe50e86bc8f1e75',
    '903d84c02756ea14',
    'eef27a8e90ca23f7',
    'e545be4961ca29a1',
    'db9bc2577fcc2a3f',
    '9447be2cf5e99a69',
    '9cd38d96f0b3c14b',
    'bd6179a71dc96dbb',
    '98eea21af25cd6be',
    'c7673b2eb0cbf2d0',
    '883ea3e395675393',
    'c8ce5ccd8c030ca8',
    '94af49f6c650adb8',
    'eab8858ade92e1bc',
    'f315bb5bb835d817',
    'adcf6b0763612e2f',
    'a5c91da7acaa4dde',
    '716595876650a2a6',
    '28ef495c53a387ad',
    '42c341d8fa92d832',
    'ce7cf2722f512771',
    'e37859f94623f3a7',
    '381205bb1ab0e012',
    'ae97a10fd434e015',
    'b4a31508beff4d31',
    '81396229f0907902',
    '4d0cf49ee5d4dcca',
    '5c73336a76d8bf9a',
    'd0a704536ba93e0e',
    '925958fcd6420cad',
    'a915c29bc8067318',
    '952b79f3bc0aa6d4',
    'f21df2e41d4535f9',
    '87577519048f53a9',
    '10a56cf5dfcd9adb',
    'eb75095ccd986cd0',
    '51a9cb9ecba312e6',
    '96afadfc2ce666c7',
    '72fe52975a4364ee',
    '5a1645b276d592a1',
    'b274cb8ebf87870a',
    '6f9bb4203de7b381',
    'eaecb2a30b22a87f',
    '9924a43cc1315724',
    'bd838d3aafbf8db7',
    '0b1a2a3265d51aea',
    '135079a3231ce660',
    '932b2846e4d70666',
    'e1915f5cb1eca46c',
    'f325965ca16d629f',
    '575ff28e60381be5',
    '724506eb4c328a95',
  ]
  const siphash = new SipHash24([0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c])
  vectors.forEach((expected, length) => {
    const message = String.fromCharCode(...Array.from({ length }, (_, i) => i))
    t.equal(siphash.hashUint(message), low53(expected), `${length} bytes`)
  })
})

t.test('SipHash-2-4 gives what the siphash package gives, for any key and text', async (t) => {
  const texts = (): string => {
    switch (randomInt(4)) {
      case 0:
        return `${randomInt(2 ** 47)}:${randomInt(2 ** 40)}`
      case 1:
        return randomBytes(randomInt(80)).toString('latin1')
      case 2:
        // Any UTF-16 code units, lone surrogates included.
        return String.fromCharCode(...Array.from({ length: randomInt(40) }, () => randomInt(0x10000)))
      default:
        return 'x'.repeat(randomInt(300))
    }
  }
  let differing = 0
  for (let k = 0; k < 20; k++) {
    const key = Array.from({ length: 4 }, () => randomInt(2 ** 32))
    const siphash = new SipHash24(key)
    for (let i = 0; i < 5_000; i++) {
      const text = texts()
      if (siphash.hashUint(text) !== SipHash.hash_uint(key, text)) {
        if (differing++ < 5) t.fail(`key ${key.join(',')}, text ${JSON.stringify(text)}`)
      }
    }
  }
  t.equal(differing, 0, '100,000 texts under 20 keys')
})
