import { LRUCache } from 'lru-cache'
import { SegmentedMessage } from 'sms-segments-calculator'

export type SmsEncoding = 'GSM-7' | 'UCS-2'

/** What an SMS text costs on the wire. */
export interface Segments {
  encoding: SmsEncoding
  /**
   * Units the text takes: GSM-7 septets (an extension character such as `€` or `{`
   * counts 2), or UTF-16 code units for UCS-2 (an emoji outside the BMP counts 2).
   */
  characters: number
  /** SMS parts: 160 / 153 per part for GSM-7, 70 / 67 for UCS-2. */
  parts: number
}

/**
 * The library builds an object per character and splits graphemes, which is slow
 * (docs/adr/0020). Texts repeat (one per message, one per token length), so the
 * figures are remembered by text.
 */
const memory = new LRUCache<string, Segments>({ max: 2_000 })

/** GSM 03.38: the basic table (one septet each) and the extension table (escape plus one). */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
const GSM_EXTENSION = '\f^{}\\[~]|€'

/** Septets per UTF-16 code unit, 0 outside GSM-7; indexed up to the highest GSM character (€). */
const GSM_SEPTETS = (() => {
  const septets = new Uint8Array('€'.charCodeAt(0) + 1)
  for (const char of GSM_BASIC) septets[char.charCodeAt(0)] = 1
  for (const char of GSM_EXTENSION) septets[char.charCodeAt(0)] = 2
  return septets
})()

/** Septets in one part of a text of several: 1,120 bits less the 6-octet concatenation header. */
const SEPTETS_PER_PART = 153

/**
 * The figures of a text that is all GSM-7, or undefined when it is not. Every such
 * character is a grapheme of its own (CR LF is counted as two, as the library does),
 * so the parts are filled greedily, an extension character's two septets kept together.
 */
function gsmSegments(text: string): Segments | undefined {
  let characters = 0
  let parts = 1
  let inPart = 0
  for (let i = 0; i < text.length; i++) {
    const septets = GSM_SEPTETS[text.charCodeAt(i)]
    if (!septets) return undefined
    characters += septets
    if (inPart + septets > SEPTETS_PER_PART) {
      parts++
      inPart = septets
    } else inPart += septets
  }
  return { encoding: 'GSM-7', characters, parts: characters <= 160 ? 1 : parts }
}

/**
 * Counts the SMS parts a text needs, exactly as the handset and SMSC split it:
 * GSM-7 when every character is in the GSM 03.38 basic or extension table, else
 * UCS-2; an extension character's two septets and a surrogate pair (or any
 * grapheme, e.g. an emoji sequence) are never split across parts.
 *
 * Twilio's `sms-segments-calculator` does the splitting; it was checked on the edge
 * cases in test/api/segments.test.ts (see docs/adr/0020). Its own character count for
 * UCS-2 counts graphemes, so `characters` is taken from the encoded size instead.
 * A text that is all GSM-7 is counted here, without it: one pass over the text,
 * checked against the library in test/unit/gsm-segments.test.ts.
 */
export function countSegments(text: string): Segments {
  const gsm = gsmSegments(text)
  if (gsm !== undefined) return gsm
  let segments = memory.get(text)
  if (segments === undefined) {
    const message = new SegmentedMessage(text)
    const bitsPerUnit = message.encodingName === 'GSM-7' ? 7 : 16
    segments = {
      encoding: message.encodingName,
      characters: message.messageSize / bitsPerUnit,
      parts: message.segmentsCount,
    }
    memory.set(text, segments)
  }
  return segments
}
