import { ADDRESS_BYTES, packAddress, UNPACKED, unpackAddress } from './address-bytes.js'
import type { RawClick } from './recorder.js'

/**
 * Clicks in columns: numbers in typed arrays, strings as indexes into a list of the
 * distinct values. This is how a batch travels to the writer thread (the typed
 * arrays are transferred, not copied, and a user agent shared by 1,000 clicks is
 * sent once), and how the queue holds clicks while they wait.
 */
export interface ClickBatch {
  length: number
  at: Float64Array
  messageId: Float64Array
  linkId: Float64Array
  /** -1: no recipient (no token, or one that failed the check). */
  recipientIdx: Int32Array
  /** 1: a HEAD request. */
  head: Uint8Array
  userAgent: StringColumn
  /** How each address is packed in `addressBytes` (address-bytes.ts); UNPACKED: in `address`, if any. */
  addressKind: Uint8Array
  /** 16 bytes a click. */
  addressBytes: Uint8Array
  /** Addresses that are not packed. */
  address: StringColumn
  clickId: StringColumn
}

/** Index -1: no value. */
export interface StringColumn {
  values: string[]
  index: Int32Array
}

/** The clicks of a batch as objects, for the code that classifies and stores them. */
export function batchRows(batch: ClickBatch): RawClick[] {
  const rows = new Array<RawClick>(batch.length)
  const text = (column: StringColumn, i: number) => {
    const at = column.index[i]!
    return at === -1 ? undefined : column.values[at]
  }
  for (let i = 0; i < batch.length; i++) {
    const recipientIdx = batch.recipientIdx[i]!
    const kind = batch.addressKind[i]!
    rows[i] = {
      at: batch.at[i]!,
      messageId: batch.messageId[i]!,
      linkId: batch.linkId[i]!,
      recipientIdx: recipientIdx < 0 ? null : recipientIdx,
      head: batch.head[i] === 1,
      userAgent: text(batch.userAgent, i),
      address: kind === UNPACKED ? text(batch.address, i) : unpackAddress(kind, batch.addressBytes, i * ADDRESS_BYTES),
      clickId: text(batch.clickId, i) ?? null,
    }
  }
  return rows
}

/** Clicks `from` to `to` of a batch, with arrays of their own (to transfer). */
export function sliceBatch(batch: ClickBatch, from: number, to: number): ClickBatch {
  const strings = (column: StringColumn): StringColumn => ({ values: column.values, index: column.index.slice(from, to) })
  return {
    length: Math.max(0, Math.min(to, batch.length) - from),
    at: batch.at.slice(from, to),
    messageId: batch.messageId.slice(from, to),
    linkId: batch.linkId.slice(from, to),
    recipientIdx: batch.recipientIdx.slice(from, to),
    head: batch.head.slice(from, to),
    userAgent: strings(batch.userAgent),
    addressKind: batch.addressKind.slice(from, to),
    addressBytes: batch.addressBytes.slice(from * ADDRESS_BYTES, to * ADDRESS_BYTES),
    address: strings(batch.address),
    clickId: strings(batch.clickId),
  }
}

/** The typed arrays of a batch, to transfer to another thread instead of copying them. */
export function transferables(batch: ClickBatch): ArrayBuffer[] {
  return [
    batch.at,
    batch.messageId,
    batch.linkId,
    batch.recipientIdx,
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

  place(value: string | null | undefined): number {
    if (value === null || value === undefined) return -1
    let at = this.places.get(value)
    if (at === undefined) {
      at = this.values.length
      this.places.set(value, at)
      this.values.push(value)
    }
    return at
  }
}

const FIRST_CAPACITY = 1024
const SHRINK_ABOVE = 65_536

/**
 * A FIFO of clicks in columns, growing by doubling. Every column is a typed array:
 * numbers as they are, client addresses packed in 16 bytes (address-bytes.ts), user
 * agents as places in a dictionary of the distinct values queued. A backlog of
 * 1,000,000 clicks from 1,000,000 addresses is 54 MB outside the JavaScript heap,
 * which the garbage collector neither copies nor traces, and a user agent shared by
 * 100,000 queued taps is kept once. Click ids, unique per tap, and addresses spelled
 * in a way that cannot be packed, are the strings kept, and only while queued.
 */
export class ClickQueue {
  private at!: Float64Array
  private messageId!: Float64Array
  private linkId!: Float64Array
  private recipientIdx!: Int32Array
  private head!: Uint8Array
  private userAgent!: Int32Array
  private addressKind!: Uint8Array
  private addressBytes!: Uint8Array
  private address!: Int32Array
  private clickId!: Array<string | null> | null
  private userAgents!: Dictionary
  private addresses!: Dictionary
  /** Clicks before `first` were taken. */
  private first = 0
  private end = 0

  constructor() {
    this.reset(FIRST_CAPACITY)
  }

  private reset(capacity: number): void {
    this.at = new Float64Array(capacity)
    this.messageId = new Float64Array(capacity)
    this.linkId = new Float64Array(capacity)
    this.recipientIdx = new Int32Array(capacity)
    this.head = new Uint8Array(capacity)
    this.userAgent = new Int32Array(capacity)
    this.addressKind = new Uint8Array(capacity)
    this.addressBytes = new Uint8Array(capacity * ADDRESS_BYTES)
    this.address = new Int32Array(capacity)
    this.clickId = null
    this.userAgents = new Dictionary()
    this.addresses = new Dictionary()
    this.first = this.end = 0
  }

  get length(): number {
    return this.end - this.first
  }

  push(click: RawClick): void {
    if (this.end === this.at.length) this.makeRoom(1)
    const i = this.end++
    this.at[i] = click.at
    this.messageId[i] = click.messageId
    this.linkId[i] = click.linkId
    // An index past Int32 passed its token's check but is no recipient's: no message has 2^31.
    const recipientIdx = click.recipientIdx
    this.recipientIdx[i] = recipientIdx !== null && recipientIdx <= 0x7fffffff ? recipientIdx : -1
    this.head[i] = click.head ? 1 : 0
    this.userAgent[i] = this.userAgents.place(click.userAgent)
    const address = click.address
    const kind = address === undefined ? UNPACKED : packAddress(address, this.addressBytes, i * ADDRESS_BYTES)
    this.addressKind[i] = kind
    this.address[i] = kind === UNPACKED ? this.addresses.place(address) : -1
    const clickId = click.clickId ?? null
    if (clickId !== null) (this.clickId ??= new Array<string | null>(this.at.length).fill(null))[i] = clickId
    else if (this.clickId !== null) this.clickId[i] = null
  }

  /** Removes and returns the oldest `count` clicks (fewer when fewer wait). */
  take(count: number): ClickBatch {
    const from = this.first
    const to = Math.min(this.end, from + count)
    const batch: ClickBatch = {
      length: to - from,
      at: this.at.slice(from, to),
      messageId: this.messageId.slice(from, to),
      linkId: this.linkId.slice(from, to),
      recipientIdx: this.recipientIdx.slice(from, to),
      head: this.head.slice(from, to),
      userAgent: column(this.userAgent, this.userAgents.values, from, to),
      addressKind: this.addressKind.slice(from, to),
      addressBytes: this.addressBytes.slice(from * ADDRESS_BYTES, to * ADDRESS_BYTES),
      address: column(this.address, this.addresses.values, from, to),
      clickId: clickIdColumn(this.clickId, from, to),
    }
    // Let go of the click ids now; the rest is overwritten when the space is reused.
    this.clickId?.fill(null, from, to)
    this.first = to
    if (this.first === this.end) {
      // Empty: the dictionaries start over, and after a burst the room it needed is given back.
      if (this.at.length > SHRINK_ABOVE) this.reset(FIRST_CAPACITY)
      else {
        this.first = this.end = 0
        this.clickId = null
        this.userAgents = new Dictionary()
        this.addresses = new Dictionary()
      }
    }
    return batch
  }

  /** Puts a batch that could not be written back in front, in its order. */
  putBack(batch: ClickBatch): void {
    const waiting = this.take(this.length)
    for (const rows of [batchRows(batch), batchRows(waiting)]) for (const row of rows) this.push(row)
  }

  /** Empties the queue; returns how many clicks it held. */
  clear(): number {
    const count = this.length
    this.take(count)
    return count
  }

  /**
   * Room for `extra` more at the end: moves the waiting clicks to the front, growing
   * if needed. The dictionaries are rebuilt from the clicks still waiting, so a queue
   * that is never empty does not keep the strings of clicks long written.
   */
  private makeRoom(extra: number): void {
    const length = this.length
    let capacity = this.at.length
    while (length + extra > capacity) capacity *= 2
    const from = this.first
    const to = this.end
    const move = <T extends Float64Array | Int32Array | Uint8Array>(old: T, fresh: T): T => {
      fresh.set(old.subarray(from, to) as never)
      return fresh
    }
    const userAgent = this.userAgent
    const address = this.address
    const userAgents = this.userAgents.values
    const addresses = this.addresses.values
    const clickId = this.clickId
    this.at = move(this.at, new Float64Array(capacity))
    this.messageId = move(this.messageId, new Float64Array(capacity))
    this.linkId = move(this.linkId, new Float64Array(capacity))
    this.recipientIdx = move(this.recipientIdx, new Int32Array(capacity))
    this.head = move(this.head, new Uint8Array(capacity))
    this.addressKind = move(this.addressKind, new Uint8Array(capacity))
    const addressBytes = new Uint8Array(capacity * ADDRESS_BYTES)
    addressBytes.set(this.addressBytes.subarray(from * ADDRESS_BYTES, to * ADDRESS_BYTES))
    this.addressBytes = addressBytes
    this.userAgent = new Int32Array(capacity)
    this.address = new Int32Array(capacity)
    this.userAgents = new Dictionary()
    this.addresses = new Dictionary()
    this.clickId = null
    for (let i = from; i < to; i++) {
      const place = userAgent[i]!
      this.userAgent[i - from] = place === -1 ? -1 : this.userAgents.place(userAgents[place])
      const at = address[i]!
      this.address[i - from] = at === -1 ? -1 : this.addresses.place(addresses[at])
      const id = clickId?.[i] ?? null
      if (id !== null) (this.clickId ??= new Array<string | null>(capacity).fill(null))[i - from] = id
    }
    this.first = 0
    this.end = length
  }
}

/** A batch's column of a dictionary column: its own, smaller dictionary, with places renumbered. */
function column(places: Int32Array, values: string[], from: number, to: number): StringColumn {
  const renumbered = new Map<number, number>()
  const own: string[] = []
  const index = new Int32Array(to - from)
  for (let i = from; i < to; i++) {
    const place = places[i]!
    if (place === -1) {
      index[i - from] = -1
      continue
    }
    let at = renumbered.get(place)
    if (at === undefined) {
      at = own.length
      renumbered.set(place, at)
      own.push(values[place]!)
    }
    index[i - from] = at
  }
  return { values: own, index }
}

function clickIdColumn(clickIds: Array<string | null> | null, from: number, to: number): StringColumn {
  const values: string[] = []
  const index = new Int32Array(to - from).fill(-1)
  if (clickIds !== null) {
    for (let i = from; i < to; i++) {
      const id = clickIds[i]
      if (id !== null && id !== undefined) index[i - from] = values.push(id) - 1
    }
  }
  return { values, index }
}
