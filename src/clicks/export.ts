import { setImmediate as nextTurn } from 'node:timers/promises'
import type { ClickPosition, ExportedClick } from '../click.js'
import { pairCursor } from '../cursor.js'
import type { Message, Store } from '../db/store.js'
import { describeUserAgent } from './user-agent-details.js'

/** Opaque cursor over a message's raw clicks: the position (transaction id, click id) of the last click seen. */
export const ClickCursor = pairCursor('c', 'cursor')

const FIRST: ClickPosition = { xid: 0, id: 0 }

/** Rows read per query while streaming NDJSON: memory stays flat whatever the message's size. */
const STREAM_CHUNK = 1_000

function presentClick(click: ExportedClick) {
  const details = describeUserAgent(click.userAgent)
  return {
    at: new Date(click.at).toISOString(),
    link: click.linkPublicId,
    recipient: click.recipientId,
    class: click.class,
    reason: click.reason,
    device: details?.device ?? null,
    os: details?.os ?? null,
    browser: details?.browser ?? null,
  }
}

/** One page of a message's raw clicks, oldest first; nextCursor is null on the last page. */
export async function clickPage(store: Store, message: Message, cursor: string | undefined, limit: number) {
  const rows = await store.listClicks(message.id, cursor === undefined ? FIRST : ClickCursor.decode(cursor), limit + 1)
  const page = rows.slice(0, limit)
  return {
    clicks: page.map(presentClick),
    nextCursor: rows.length > limit ? ClickCursor.encode(page[page.length - 1]!) : null,
  }
}

/**
 * Every raw click of a message from the cursor on, one JSON object per line. Read in
 * chunks of the clicks_message index, so a send with millions of clicks streams in
 * constant memory; clicks written while it streams are included if they come later.
 */
export function clickLines(store: Store, message: Message, cursor: string | undefined): AsyncGenerator<string> {
  // Decoded before the first byte is sent, so a bad cursor is still a 400.
  return linesAfter(store, message, cursor === undefined ? FIRST : ClickCursor.decode(cursor))
}

const CSV_COLUMNS = ['at', 'link', 'recipient', 'class', 'reason', 'device', 'os', 'browser'] as const

/**
 * A CSV cell: quoted when it holds a separator, quote or line break; a leading =, +, -,
 * @, tab or carriage return is prefixed with ' so a spreadsheet never runs it as a formula.
 */
function csvCell(value: string | null): string {
  if (value === null) return ''
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/** Every raw click of a message as CSV (RFC 4180, a header line first), streamed like clickLines. */
export async function* clickCsvLines(store: Store, message: Message): AsyncGenerator<string> {
  yield CSV_COLUMNS.join(',') + '\r\n'
  const toCsv = (row: ExportedClick) => {
    const click = presentClick(row)
    return CSV_COLUMNS.map((column) => csvCell(click[column])).join(',') + '\r\n'
  }
  yield* linesAfter(store, message, FIRST, toCsv)
}

async function* linesAfter(
  store: Store,
  message: Message,
  after: ClickPosition,
  line: (row: ExportedClick) => string = (row) => JSON.stringify(presentClick(row)) + '\n',
): AsyncGenerator<string> {
  for (;;) {
    const rows = await store.listClicks(message.id, after, STREAM_CHUNK)
    if (rows.length > 0) yield rows.map(line).join('')
    if (rows.length < STREAM_CHUNK) return
    const last = rows[rows.length - 1]!
    after = { xid: last.xid, id: last.id }
    // However fast the reader, taps get their turn between chunks.
    await nextTurn()
  }
}
