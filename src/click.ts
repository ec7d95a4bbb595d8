/**
 * A click at each stage of its life, one name per stage (docs/architecture.md,
 * "The life of a click"): a `Tap` is what the redirect saw, queued as a `TapBatch`;
 * a `CheckedTap` has its token checked; a `ClickRow` is classified and stored; an
 * `ExportedClick` is what the API shows. Types only, so the store, the recorder and
 * the routes can all import it without importing each other.
 */

/** How a click was judged: a person, an automated fetch, or a link preview. */
export type ClickClass = 'human' | 'bot' | 'preview'

/**
 * Stage 1, on the request path: what the redirect knows about a tap, handed to
 * ClickRecorder.record after the reply is written. Its token is not yet checked.
 */
export interface Tap {
  at: number
  messageId: number
  linkId: number
  /** The token after the code, unchecked; null when the link had none. */
  token: string | null
  head: boolean
  userAgent: string | undefined
  address: string | undefined
  /** The id given to the landing page, when the message asks for click ids. */
  clickId: string | null
}

/**
 * Stage 1, queued: taps in columns, as ClickQueue.take hands them to a sink.
 * Numbers sit in typed arrays, strings as indexes into a list of the distinct
 * values. This is how a batch travels to the writer thread (the typed arrays are
 * transferred, not copied, and a user agent shared by 1,000 taps is sent once).
 */
export interface TapBatch {
  length: number
  at: Float64Array
  messageId: Float64Array
  linkId: Float64Array
  /**
   * The recipient index the tap's token claims, checked against `tokenMac` only when
   * the batch is read (batchRows). -1: no token, or none that any recipient can have.
   */
  tokenIndex: Int32Array
  tokenMac: Int32Array
  /** 1: a HEAD request. */
  head: Uint8Array
  userAgent: StringColumn
  /** How each address is packed in `addressBytes` (address-bytes.ts); UNPACKED: in `address`, if any. */
  addressKind: Uint8Array
  /** 16 bytes a tap. */
  addressBytes: Uint8Array
  /** Addresses that are not packed. */
  address: StringColumn
  clickId: StringColumn
}

/** A string column of a TapBatch. Index -1: no value. */
export interface StringColumn {
  values: string[]
  index: Int32Array
}

/**
 * Stage 2, in the sink (the writer thread or the inline sink), off the request
 * path: a tap with its token checked (batchRows), ready to be classified.
 */
export interface CheckedTap {
  at: number
  messageId: number
  linkId: number
  recipientIdx: number | null
  head: boolean
  userAgent: string | undefined
  address: string | undefined
  /** The id given to the landing page, when the message asks for click ids. */
  clickId?: string | null
}

/**
 * Stage 3, what the click rules judge and a backend stores: a click classified, its
 * address cut down, its user agent parsed. recordClicks (src/clicks/click-batch.ts)
 * adds too_fast and burst and works out the counters; Store.writeClicks stores the
 * rows and moves the counters in one transaction.
 */
export interface ClickRow {
  at: number
  messageId: number
  linkId: number
  recipientIdx: number | null
  class: ClickClass
  reason: string | null
  userAgent: string | null
  network: string | null
  /** The id the landing page received, when the message asks for click ids. */
  clickId: string | null
  /** From the user agent (ua-parser-js): mobile, tablet, desktop…; null without a user agent. */
  device: string | null
  os: string | null
  browser: string | null
}

/** Stage 4, what the API shows (GET /v1/messages/{id}/clicks): a stored click, read back. */
/**
 * Where a click sorts in the export, and what its cursor holds: the id of the
 * transaction that wrote it (PostgreSQL; 0 on SQLite and for clicks copied from it),
 * then its internal id.
 */
export interface ClickPosition {
  xid: number
  id: number
}

export interface ExportedClick extends ClickPosition {
  at: number
  linkPublicId: string
  /** The sender's recipient id; null for anonymous clicks. */
  recipientId: string | null
  class: ClickClass
  reason: string | null
  userAgent: string | null
}
