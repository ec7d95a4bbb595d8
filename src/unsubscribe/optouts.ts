import { idCursor } from '../cursor.js'
import type { Store } from '../db/store.js'

/** Opaque cursor over the tenant's opt-out list: the last internal id seen. */
export const OptOutCursor = idCursor('o', 'since')

/**
 * A page of the changes of the tenant's opt-out list (opt-outs and re-subscribes),
 * oldest first. `nextCursor` is always set, also on the last page: a sender keeps it
 * and asks again later for what came since.
 */
export async function listOptOuts(store: Store, tenantId: number, since: string | undefined, limit: number) {
  const page = await store.listOptOuts(tenantId, since === undefined ? 0 : OptOutCursor.decode(since), limit)
  return {
    optOuts: page.optOuts.map((optOut) => ({
      recipient: optOut.recipientId,
      change: optOut.change,
      source: optOut.source,
      messageId: optOut.messagePublicId,
      at: new Date(optOut.at).toISOString(),
    })),
    nextCursor: OptOutCursor.encode(page.last),
    hasMore: page.hasMore,
  }
}
