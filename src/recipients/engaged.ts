import { ApiError } from '../errors.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Store } from '../db/store.js'

const DAY_MS = 86_400_000

/** Opaque cursor over engaged recipients: the last recipient id returned. */
export const EngagedCursor = {
  encode: (after: string): string => Buffer.from(`e${after}`).toString('base64url'),
  decode: (cursor: string): string => {
    const text = Buffer.from(cursor, 'base64url').toString()
    if (!text.startsWith('e') || text.length < 2) {
      throw new ApiError(400, 'invalid_cursor', 'cursor must be a nextCursor value from an earlier page')
    }
    return text.slice(1)
  },
}

/**
 * The tenant's recipients with a human click in the last `days` days, each id once
 * however many messages it clicked, in id order: the "engaged" segment a sender
 * keeps sending to. A recipient's latest click per message is kept with its first
 * (message_uniques), so this reads no raw clicks.
 */
export async function engagedRecipients(
  store: Store,
  recorder: ClickRecorder,
  tenantId: number,
  days: number,
  cursor: string | undefined,
  limit: number,
) {
  const after = cursor === undefined ? '' : EngagedCursor.decode(cursor)
  await recorder.flush()
  const ids = await store.engagedRecipients(tenantId, Date.now() - days * DAY_MS, after, limit + 1)
  const page = ids.slice(0, limit)
  return { recipients: page, nextCursor: ids.length > limit ? EngagedCursor.encode(page[page.length - 1]!) : null }
}
