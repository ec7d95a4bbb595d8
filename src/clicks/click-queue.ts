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
  recipientIdx: Float64Array
  /** 1: a HEAD request. */
  head: Uint8Array
  userAgent: StringColumn
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
    rows[i] = {
      at: batch.at[i]!,
      messageId: batch.messageId[i]!,
      linkId: batch.linkId[i]!,
      recipientIdx: recipientIdx === -1 ? null : recipientIdx,
      head: batch.head[i] === 1,
      userAgent: text(batch.userAgent, i),
      address: text(batch.address, i),
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
    batch.address.index,
    batch.clickId.index,
  ].map((array) => array.buffer as ArrayBuffer)
}

/** Distinct strings of a column, each with its place. */
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
 * A FIFO of clicks in columns, growing by doubling. Queued clicks are a handful of
 * long arrays, not one object each: a backlog of 200,000 clicks during a burst costs
 * the garbage collector nothing to keep, where 200,000 objects would be copied by
 * every young-generation collection and traced by every full one.
 */
export class ClickQueue {
  private at!: Float64Array
  private messageId!: Float64Array
  private linkId!: Float64Array
  private recipientIdx!: Float64Array
  private head!: Uint8Array
  private userAgent!: Array<string | undefined>
  private address!: Array<string | undefined>
  private clickId!: Array<string | null | undefined>
  /** Clicks before `first` were taken. */
  private first = 0
  private end = 0

  constructor() {
    this.reset()
  }

  private reset(): void {
    this.at = new Float64Array(FIRST_CAPACITY)
    this.messageId = new Float64Array(FIRST_CAPACITY)
    this.linkId = new Float64Array(FIRST_CAPACITY)
    this.recipientIdx = new Float64Array(FIRST_CAPACITY)
    this.head = new Uint8Array(FIRST_CAPACITY)
    this.userAgent = new Array(FIRST_CAPACITY)
    this.address = new Array(FIRST_CAPACITY)
    this.clickId = new Array(FIRST_CAPACITY)
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
    this.recipientIdx[i] = click.recipientIdx ?? -1
    this.head[i] = click.head ? 1 : 0
    this.userAgent[i] = click.userAgent
    this.address[i] = click.address
    this.clickId[i] = click.clickId
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
      userAgent: column(this.userAgent, from, to),
      address: column(this.address, from, to),
      clickId: column(this.clickId, from, to),
    }
    // Let go of the strings now; the numbers are overwritten when the space is reused.
    this.userAgent.fill(undefined, from, to)
    this.address.fill(undefined, from, to)
    this.clickId.fill(undefined, from, to)
    this.first = to
    if (this.first === this.end) {
      this.first = this.end = 0
      // After a burst, give back the room it needed.
      if (this.at.length > SHRINK_ABOVE) this.reset()
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

  /** Room for `extra` more at the end: moves the waiting clicks to the front, growing if needed. */
  private makeRoom(extra: number): void {
    const length = this.length
    let capacity = this.at.length
    while (length + extra > capacity) capacity *= 2
    const from = this.first
    const to = this.end
    const move = <T extends Float64Array | Uint8Array>(old: T, fresh: T): T => {
      fresh.set(old.subarray(from, to) as never)
      return fresh
    }
    this.at = move(this.at, new Float64Array(capacity))
    this.messageId = move(this.messageId, new Float64Array(capacity))
    this.linkId = move(this.linkId, new Float64Array(capacity))
    this.recipientIdx = move(this.recipientIdx, new Float64Array(capacity))
    this.head = move(this.head, new Uint8Array(capacity))
    this.userAgent = resized(this.userAgent, from, to, capacity)
    this.address = resized(this.address, from, to, capacity)
    this.clickId = resized(this.clickId, from, to, capacity)
    this.first = 0
    this.end = length
  }
}

function resized<T>(values: T[], from: number, to: number, capacity: number): T[] {
  const next = values.slice(from, to)
  next.length = capacity
  return next
}

function column(values: Array<string | null | undefined>, from: number, to: number): StringColumn {
  const dictionary = new Dictionary()
  const index = new Int32Array(to - from)
  for (let i = from; i < to; i++) index[i - from] = dictionary.place(values[i])
  return { values: dictionary.values, index }
}
