import { ADDRESS_BYTES, packAddress, UNPACKED, unpackAddress } from './address-bytes.js'
import type { CheckedTap, StringColumn, Tap, TapBatch } from '../click.js'
import { tokenIndex, tokenMac, type RecipientTokens } from '../links/tokens.js'

/**
 * The taps of a batch as objects (CheckedTap), for the code that classifies and stores them.
 * This is where a tap's token is checked: a token that fails gives no recipient.
 */
export function batchRows(batch: TapBatch, tokens: RecipientTokens): CheckedTap[] {
  const rows = new Array<CheckedTap>(batch.length)
  for (let i = 0; i < batch.length; i++) {
    const index = batch.tokenIndex[i]!
    const messageId = batch.messageId[i]!
    const kind = batch.addressKind[i]!
    rows[i] = {
      at: batch.at[i]!,
      messageId,
      linkId: batch.linkId[i]!,
      recipientIdx: index !== -1 && tokens.check(messageId, index, batch.tokenMac[i]!) ? index : null,
      head: batch.head[i] === 1,
      userAgent: valueOf(batch.userAgent, i),
      address:
        kind === UNPACKED ? valueOf(batch.address, i) : unpackAddress(kind, batch.addressBytes, i * ADDRESS_BYTES),
      clickId: valueOf(batch.clickId, i) ?? null,
    }
  }
  return rows
}

/** Clicks `from` to `to` of a batch, with arrays of their own (to transfer). */
export function sliceBatch(batch: TapBatch, from: number, to: number): TapBatch {
  const strings = (column: StringColumn): StringColumn => ({
    values: column.values,
    index: column.index.slice(from, to),
  })
  return {
    length: Math.max(0, Math.min(to, batch.length) - from),
    at: batch.at.slice(from, to),
    messageId: batch.messageId.slice(from, to),
    linkId: batch.linkId.slice(from, to),
    tokenIndex: batch.tokenIndex.slice(from, to),
    tokenMac: batch.tokenMac.slice(from, to),
    head: batch.head.slice(from, to),
    userAgent: strings(batch.userAgent),
    addressKind: batch.addressKind.slice(from, to),
    addressBytes: batch.addressBytes.slice(from * ADDRESS_BYTES, to * ADDRESS_BYTES),
    address: strings(batch.address),
    clickId: strings(batch.clickId),
  }
}

/** The typed arrays of a batch, to transfer to another thread instead of copying them. */
export function transferables(batch: TapBatch): ArrayBuffer[] {
  return [
    batch.at,
    batch.messageId,
    batch.linkId,
    batch.tokenIndex,
    batch.tokenMac,
    batch.head,
    batch.userAgent.index,
    batch.addressKind,
    batch.addressBytes,
    batch.address.index,
    batch.clickId.index,
  ].map((array) => array.buffer as ArrayBuffer)
}

/** Distinct strings, each with its place in `values`. */
class Dictionary {
  private readonly places = new Map<string, number>()
  readonly values: string[] = []
  /** The last string placed: consecutive taps mostly share a user agent. */
  private last: string | undefined
  private lastPlace = -1

  get size(): number {
    return this.values.length
  }

  place(value: string | null | undefined): number {
    if (value === null || value === undefined) return -1
    if (value === this.last) return this.lastPlace
    let at = this.places.get(value)
    if (at === undefined) {
      at = this.values.length
      this.places.set(value, at)
      this.values.push(value)
    }
    this.last = value
    this.lastPlace = at
    return at
  }
}

/** Clicks a chunk holds: 950 KB of typed arrays. */
const CHUNK = 16_384

/** A fixed run of queue slots, one typed array per column. */
class Chunk {
  readonly at = new Float64Array(CHUNK)
  readonly messageId = new Float64Array(CHUNK)
  readonly linkId = new Float64Array(CHUNK)
  readonly tokenIndex = new Int32Array(CHUNK)
  readonly tokenMac = new Int32Array(CHUNK)
  readonly head = new Uint8Array(CHUNK)
  readonly userAgent = new Int32Array(CHUNK)
  readonly addressKind = new Uint8Array(CHUNK)
  readonly addressBytes = new Uint8Array(CHUNK * ADDRESS_BYTES)
  readonly address = new Int32Array(CHUNK)
  /** Made when a click in this chunk has a click id. */
  clickId: Array<string | null> | null = null

  setClickId(i: number, id: string | null): void {
    if (id !== null) (this.clickId ??= new Array<string | null>(CHUNK).fill(null))[i] = id
    else if (this.clickId !== null) this.clickId[i] = null
  }
}

/** A dictionary this large is rebuilt from the queued clicks when they are fewer. */
const DICTIONARY_REBUILD = 65_536

/**
 * A FIFO of clicks in columns, kept in chunks of 16,384. Every column is a typed
 * array: numbers as they are, client addresses packed in 16 bytes (address-bytes.ts),
 * user agents as places in a dictionary of the distinct values queued. A backlog of
 * 1,000,000 clicks from 1,000,000 addresses is 58 MB outside the JavaScript heap,
 * which the garbage collector neither copies nor traces, and a user agent shared by
 * 100,000 queued taps is kept once. A growing backlog takes one more chunk at a
 * time, so nothing already queued is ever copied while redirects wait, and a
 * chunk is let go as soon as it is taken. Click ids, unique per tap, and addresses
 * spelled in a way that cannot be packed, are the strings kept, and only while queued.
 */
export class ClickQueue {
  private chunks: Chunk[] = [new Chunk()]
  /** One emptied chunk kept for the next, so a steady flow allocates nothing. */
  private spare: Chunk | null = null
  /** Clicks before `first` in chunks[0] were taken. */
  private first = 0
  /** Clicks from `end` in the last chunk are free. */
  private end = 0
  private count = 0
  private userAgents = new Dictionary()
  private addresses = new Dictionary()

  get length(): number {
    return this.count
  }

  /** When the oldest queued tap was made; null when none waits. */
  get oldestAt(): number | null {
    return this.count === 0 ? null : this.chunks[0]!.at[this.first]!
  }

  /** Distinct user agents and unpacked addresses held for the queued clicks. */
  get stringsHeld(): number {
    return this.userAgents.size + this.addresses.size
  }

  /** Copies the tap into the queue's columns; the object is not kept. */
  push(tap: Tap): void {
    const chunk = this.slot()
    const i = this.end++
    this.count++
    chunk.at[i] = tap.at
    chunk.messageId[i] = tap.messageId
    chunk.linkId[i] = tap.linkId
    const token = tap.token
    const index = token === null ? -1 : tokenIndex(token)
    const mac = index === -1 ? -1 : tokenMac(token!)
    // A claimed index past Int32 is no recipient's: no message has 2^31.
    chunk.tokenIndex[i] = mac === -1 || index > 0x7fffffff ? -1 : index
    chunk.tokenMac[i] = mac
    chunk.head[i] = tap.head ? 1 : 0
    chunk.userAgent[i] = this.userAgents.place(tap.userAgent)
    const address = tap.address
    const kind = address === undefined ? UNPACKED : packAddress(address, chunk.addressBytes, i * ADDRESS_BYTES)
    chunk.addressKind[i] = kind
    chunk.address[i] = kind === UNPACKED ? this.addresses.place(address) : -1
    chunk.setClickId(i, tap.clickId)
  }

  /** Removes and returns the oldest `count` clicks (fewer when fewer wait). */
  take(count: number): TapBatch {
    const length = Math.min(count, this.count)
    const batch: TapBatch = {
      length,
      at: new Float64Array(length),
      messageId: new Float64Array(length),
      linkId: new Float64Array(length),
      tokenIndex: new Int32Array(length),
      tokenMac: new Int32Array(length),
      head: new Uint8Array(length),
      userAgent: { values: [], index: new Int32Array(length) },
      addressKind: new Uint8Array(length),
      addressBytes: new Uint8Array(length * ADDRESS_BYTES),
      address: { values: [], index: new Int32Array(length) },
      clickId: { values: [], index: new Int32Array(length).fill(-1) },
    }
    const userAgents = new Renumbering(this.userAgents.values, batch.userAgent)
    const addresses = new Renumbering(this.addresses.values, batch.address)
    let done = 0
    while (done < length) {
      const chunk = this.chunks[0]!
      const from = this.first
      const to = Math.min(from + (length - done), this.chunks.length === 1 ? this.end : CHUNK)
      batch.at.set(chunk.at.subarray(from, to), done)
      batch.messageId.set(chunk.messageId.subarray(from, to), done)
      batch.linkId.set(chunk.linkId.subarray(from, to), done)
      batch.tokenIndex.set(chunk.tokenIndex.subarray(from, to), done)
      batch.tokenMac.set(chunk.tokenMac.subarray(from, to), done)
      batch.head.set(chunk.head.subarray(from, to), done)
      batch.addressKind.set(chunk.addressKind.subarray(from, to), done)
      batch.addressBytes.set(
        chunk.addressBytes.subarray(from * ADDRESS_BYTES, to * ADDRESS_BYTES),
        done * ADDRESS_BYTES,
      )
      for (let i = from; i < to; i++) {
        const at = done + i - from
        batch.userAgent.index[at] = userAgents.place(chunk.userAgent[i]!)
        batch.address.index[at] = addresses.place(chunk.address[i]!)
      }
      if (chunk.clickId !== null) {
        for (let i = from; i < to; i++) {
          const id = chunk.clickId[i]
          if (id !== null && id !== undefined) batch.clickId.index[done + i - from] = batch.clickId.values.push(id) - 1
        }
        // Let go of the click ids now; the rest is overwritten when the space is reused.
        chunk.clickId.fill(null, from, to)
      }
      done += to - from
      this.first = to
      if (to === CHUNK) this.release()
    }
    this.count -= length
    if (this.count === 0) this.restart()
    return batch
  }

  /** Puts a batch that could not be written back in front, in its order. */
  putBack(batch: TapBatch): void {
    const waiting = this.take(this.count)
    for (const clicks of [batch, waiting]) for (let i = 0; i < clicks.length; i++) this.pushRow(clicks, i)
  }

  /** Empties the queue; returns how many clicks it held. */
  clear(): number {
    const count = this.count
    this.take(count)
    return count
  }

  /** The chunk with a free slot at `end`, taking a new one when the last is full. */
  private slot(): Chunk {
    if (this.end < CHUNK) return this.chunks[this.chunks.length - 1]!
    const chunk = this.spare ?? new Chunk()
    this.spare = null
    this.chunks.push(chunk)
    this.end = 0
    // Only a queue that never empties gets here with dictionaries grown past what it holds.
    if (this.stringsHeld > DICTIONARY_REBUILD && this.stringsHeld > this.count) {
      this.rebuildDictionaries()
    }
    return chunk
  }

  /** Lets go of the first chunk, all of it taken. */
  private release(): void {
    const chunk = this.chunks.shift()!
    if (this.chunks.length === 0) {
      // It was the only one: keep using it.
      this.chunks.push(chunk)
      this.end = 0
    } else {
      chunk.clickId = null
      this.spare ??= chunk
    }
    this.first = 0
  }

  /** Empty: the dictionaries start over, and the chunks a burst needed are let go. */
  private restart(): void {
    const last = this.chunks[this.chunks.length - 1]!
    last.clickId = null
    this.chunks = [last]
    this.first = this.end = 0
    this.userAgents = new Dictionary()
    this.addresses = new Dictionary()
  }

  /** One queued click of a batch, as it was queued. */
  private pushRow(batch: TapBatch, row: number): void {
    const chunk = this.slot()
    const i = this.end++
    this.count++
    chunk.at[i] = batch.at[row]!
    chunk.messageId[i] = batch.messageId[row]!
    chunk.linkId[i] = batch.linkId[row]!
    chunk.tokenIndex[i] = batch.tokenIndex[row]!
    chunk.tokenMac[i] = batch.tokenMac[row]!
    chunk.head[i] = batch.head[row]!
    chunk.userAgent[i] = this.userAgents.place(valueOf(batch.userAgent, row))
    chunk.addressKind[i] = batch.addressKind[row]!
    chunk.addressBytes.set(
      batch.addressBytes.subarray(row * ADDRESS_BYTES, (row + 1) * ADDRESS_BYTES),
      i * ADDRESS_BYTES,
    )
    chunk.address[i] = this.addresses.place(valueOf(batch.address, row))
    chunk.setClickId(i, valueOf(batch.clickId, row) ?? null)
  }

  /** Dictionaries of the strings still queued, and the queued places renumbered to them. */
  private rebuildDictionaries(): void {
    const userAgents = new Dictionary()
    const addresses = new Dictionary()
    this.chunks.forEach((chunk, c) => {
      const from = c === 0 ? this.first : 0
      const to = c === this.chunks.length - 1 ? this.end : CHUNK
      for (let i = from; i < to; i++) {
        const agent = chunk.userAgent[i]!
        if (agent !== -1) chunk.userAgent[i] = userAgents.place(this.userAgents.values[agent])
        const address = chunk.address[i]!
        if (address !== -1) chunk.address[i] = addresses.place(this.addresses.values[address])
      }
    })
    this.userAgents = userAgents
    this.addresses = addresses
  }
}

function valueOf(column: StringColumn, row: number): string | undefined {
  const at = column.index[row]!
  return at === -1 ? undefined : column.values[at]
}

/** A batch's own dictionary of a queue dictionary's values: places renumbered, only the ones used. */
class Renumbering {
  private readonly renumbered = new Map<number, number>()

  constructor(
    private readonly values: string[],
    private readonly column: StringColumn,
  ) {}

  place(queued: number): number {
    if (queued === -1) return -1
    let at = this.renumbered.get(queued)
    if (at === undefined) {
      at = this.column.values.push(this.values[queued]!) - 1
      this.renumbered.set(queued, at)
    }
    return at
  }
}
