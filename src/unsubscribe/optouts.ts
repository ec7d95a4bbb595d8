import { ApiError } from '../errors.js'
import type { Services } from '../services.js'

/** Opaque cursor over the tenant's opt-out list: the last internal id seen. */
export const OptOutCursor = {
  encode: (after: number): string => Buffer.from(`o${after}`).toString('base64url'),
  decode: (cursor: string): number => {
    const text = Buffer.from(cursor, 'base64url').toString()
    const after = /^o\d{1,15}$/.test(text) ? Number(text.slice(1)) : NaN
    if (!Number.isSafeInteger(after)) {
      throw new ApiError(400, 'invalid_cursor', 'since must be a nextCursor value from an earlier page')
    }
    return after
  },
}

/**
 * A page of the tenant's opt-outs, oldest first. `nextCursor` is always set, also on
 * the last page: a sender keeps it and asks again later for what came since.
 */
export async function listOptOuts({ store }: Services, tenantId: number, since: string | undefined, limit: number) {
  const page = await store.listOptOuts(tenantId, since === undefined ? 0 : OptOutCursor.decode(since), limit)
  return {
    optOuts: page.optOuts.map((optOut) => ({
      recipient: optOut.recipientId,
      messageId: optOut.messagePublicId,
      at: new Date(optOut.at).toISOString(),
    })),
    nextCursor: OptOutCursor.encode(page.last),
    hasMore: page.hasMore,
  }
}
