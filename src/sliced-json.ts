import { randomBytes } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** Characters scanned between two turns of the event loop. */
const CHARS_PER_SLICE = 256 * 1024
/** Characters of a long array parsed in one piece. */
const CHARS_PER_PIECE = 128 * 1024
/** A member's array value this long (in characters) or longer is parsed in pieces. */
const LONG_ARRAY = 64 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** An array that is the value of a member of the root object: where it starts and ends, and its cuts. */
interface LongArray {
  /** Index of its `[`. */
  start: number
  /** Index of its `]`. */
  end: number
  /** Indexes of the commas between its elements where a piece ends. */
  cuts: number[]
}

/**
 * The root object's long array values (and how many members the root object has),
 * found by scanning the text a slice at a time. Strings are skipped whole; commas
 * inside an array two levels down cut it into pieces of about CHARS_PER_PIECE. The
 * text is not checked here: whatever it holds, the pieces are parsed afterwards, and
 * invalid JSON fails there.
 */
async function scan(text: string): Promise<{ arrays: LongArray[]; members: number }> {
  const arrays: LongArray[] = []
  let members = 0
  let depth = 0
  let current: LongArray | null = null
  let pieceStart = 0
  let yieldAt = CHARS_PER_SLICE
  for (let i = 0; i < text.length; i++) {
    if (i >= yieldAt) {
      await nextTurn()
      yieldAt = i + CHARS_PER_SLICE
    }
    const char = text.charCodeAt(i)
    if (char === QUOTE) {
      // The closing quote is the next one not escaped by an odd run of backslashes.
      let close = text.indexOf('"', i + 1)
      while (close !== -1) {
        let backslashes = 0
        while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++
        if (backslashes % 2 === 0) break
        close = text.indexOf('"', close + 1)
      }
      if (close === -1) return { arrays, members }
      i = close
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      depth++
      if (depth === 2 && char === OPEN_BRACKET) {
        current = { start: i, end: -1, cuts: [] }
        pieceStart = i
      }
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      if (depth === 2 && current !== null) {
        current.end = i
        if (i - current.start >= LONG_ARRAY) arrays.push(current)
        current = null
      }
      depth--
    } else if (char === COMMA && depth === 2 && current !== null && i - pieceStart >= CHARS_PER_PIECE) {
      current.cuts.push(i)
      pieceStart = i
    } else if (char === COLON && depth === 1) members++
  }
  return { arrays, members }
}

/** Whether text[from, to) holds anything but JSON whitespace. */
function hasValue(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const char = text.charCodeAt(i)
    if (char !== 0x20 && char !== 0x0a && char !== 0x0d && char !== 0x09) return true
  }
  return false
}

/**
 * Parses a JSON text whose root object holds long arrays (100,000 recipient ids)
 * without holding the event loop for the whole text: the text is scanned a slice at
 * a time, each long array is parsed in pieces of about 128 KiB between turns of the
 * event loop, and the rest of the object is parsed with a placeholder where each long
 * array was. `parse` parses each part (the body parser's own, with its checks).
 *
 * Throws when the text is not one the pieces can be parsed from: invalid JSON, a
 * repeated member name. The caller then parses the whole text at once, which gives
 * the result or the error the whole text gives.
 */
export async function parseJsonInSlices(text: string, parse: (text: string) => unknown): Promise<unknown> {
  if (!text.trimStart().startsWith('{')) return parse(text)
  const { arrays, members } = await scan(text)
  if (arrays.length === 0) return parse(text)
  const nonce = randomBytes(12).toString('base64url')
  const placeholder = (k: number) => `sliced-json-${nonce}-${k}`
  let shell = text.slice(0, arrays[0]!.start)
  arrays.forEach((array, k) => {
    const next = arrays[k + 1]?.start ?? text.length
    shell += `"${placeholder(k)}"${text.slice(array.end + 1, next)}`
  })
  const root = parse(shell) as Record<string, unknown>
  const names = Object.keys(root)
  if (names.length !== members) throw new Error('a member name is repeated')
  for (const [k, array] of arrays.entries()) {
    const name = names.find((candidate) => root[candidate] === placeholder(k))
    if (name === undefined) throw new Error('a long array is not the value of a member')
    const bounds = [array.start, ...array.cuts, array.end]
    const items: unknown[] = []
    for (let p = 0; p + 1 < bounds.length; p++) {
      await nextTurn()
      const [from, to] = [bounds[p]! + 1, bounds[p + 1]!]
      // A piece left empty by a trailing comma that ended the piece before would hide
      // that comma from JSON.parse: `[]` parses.
      if (bounds.length > 2 && !hasValue(text, from, to)) throw new Error('an element is missing')
      const piece = parse(`[${text.slice(from, to)}]`) as unknown[]
      for (const item of piece) items.push(item)
    }
    root[name] = items
  }
  return root
}

/** Bodies shorter than this (in characters) are parsed at once. */
const SLICED_BODY = 256 * 1024

/**
 * Takes a request's body bytes elsewhere (the recipients thread) and answers what the
 * route gets as its body; or the bytes (maybe handed back), to parse here after all.
 */
export type BodyHandOff = (request: FastifyRequest, body: Buffer) => Promise<{ taken: unknown } | { bytes: Buffer }>

/**
 * Makes the JSON body parser of `app` (a plugin's own, for its routes) parse long
 * bodies with parseJsonInSlices. Each part is parsed by Fastify's own JSON parser, with
 * its prototype-poisoning checks; a body the pieces cannot be parsed from is parsed
 * whole by it too, so a bad body gets the error it always got. With `handOff`, each
 * body is offered to it first.
 */
export function parseLongJsonBodiesInSlices(app: FastifyInstance, handOff?: BodyHandOff): void {
  const fastifyParser = app.getDefaultJsonParser('error', 'error')
  const parseWhole = (request: FastifyRequest, text: string): unknown => {
    let parsed: unknown
    let failure: Error | null = null
    fastifyParser(request, text, (error: Error | null, value?: unknown) => {
      failure = error
      parsed = value
    })
    if (failure !== null) throw failure
    return parsed
  }
  const parseText = async (request: FastifyRequest, text: string): Promise<unknown> => {
    if (text.length < SLICED_BODY) return parseWhole(request, text)
    try {
      return await parseJsonInSlices(text, (part) => parseWhole(request, part))
    } catch {
      return parseWhole(request, text)
    }
  }
  app.removeContentTypeParser('application/json')
  if (handOff === undefined) {
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      (request: FastifyRequest, body: string | Buffer) => parseText(request, body as string),
    )
    return
  }
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    async (request: FastifyRequest, body: string | Buffer) => {
      const handed = await handOff(request, body as Buffer)
      return 'taken' in handed ? handed.taken : parseText(request, handed.bytes.toString('utf8'))
    },
  )
}
