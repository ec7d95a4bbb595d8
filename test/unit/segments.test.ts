import t from 'tap'
import { SegmentedMessage } from 'sms-segments-calculator'
import { countSegments } from '../../src/messages/segments.js'

/** The figures as Twilio's calculator gives them, the way countSegments reports them. */
function libraryFigures(text: string) {
  const message = new SegmentedMessage(text)
  return {
    encoding: message.encodingName,
    characters: message.messageSize / (message.encodingName === 'GSM-7' ? 7 : 16),
    parts: message.segmentsCount,
  }
}

/** A repeatable sequence of numbers in [0, 1), so that a failure can be re-run. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

// Every GSM-7 character is below U+2100 (€ is U+20AC); above it the calculator counts every text.
t.test('every character up to U+2100 counts as the calculator counts it', async (t) => {
  const mismatches: string[] = []
  for (let code = 0; code < 0x2100; code++) {
    const text = String.fromCharCode(code)
    const ours = countSegments(text)
    const theirs = libraryFigures(text)
    if (JSON.stringify(ours) !== JSON.stringify(theirs))
      mismatches.push(`U+${code.toString(16)}: ${JSON.stringify(ours)} against ${JSON.stringify(theirs)}`)
  }
  t.same(mismatches, [])
})

t.test('GSM-7 texts around part boundaries split as the calculator splits them', async (t) => {
  const random = seeded(20)
  // Mostly one-septet characters, with extension characters, CR and LF among them.
  const alphabet = ['a', 'Z', '7', ' ', 'æ', 'ø', 'Å', '@', '€', '{', '|', '\f', '\r', '\n', '\r\n']
  const mismatches: string[] = []
  for (let round = 0; round < 600; round++) {
    const target = [150, 160, 300, 306, 459, 612][round % 6]! + Math.floor(random() * 12) - 6
    let text = ''
    while (text.length < target) {
      const pick = random()
      text += pick < 0.7 ? 'a' : alphabet[Math.floor(random() * alphabet.length)]!
    }
    const ours = countSegments(text)
    const theirs = libraryFigures(text)
    if (JSON.stringify(ours) !== JSON.stringify(theirs))
      mismatches.push(`${JSON.stringify(text)}: ${JSON.stringify(ours)} against ${JSON.stringify(theirs)}`)
  }
  t.same(mismatches, [])
})
