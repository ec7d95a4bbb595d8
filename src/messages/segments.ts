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

/**
 * Counts the SMS parts a text needs, exactly as the handset and SMSC split it:
 * GSM-7 when every character is in the GSM 03.38 basic or extension table, else
 * UCS-2; an extension character's two septets and a surrogate pair (or any
 * grapheme, e.g. an emoji sequence) are never split across parts.
 *
 * Twilio's `sms-segments-calculator` does the splitting; it was checked on the edge
 * cases in test/api/segments.test.ts (see docs/adr/0020). Its own character count for
 * UCS-2 counts graphemes, so `characters` is taken from the encoded size instead.
 */
export function countSegments(text: string): Segments {
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
