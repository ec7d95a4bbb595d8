import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Message, RecipientIndex, Store } from '../db/store.js'
import { optedOutAmong, type SuppressionKeys } from '../recipients/suppression.js'

/**
 * Recipients stored per transaction, between two turns of the event loop: a few
 * milliseconds of inserts, so that taps (or, in the recipients thread, the other
 * calls' work) are not kept waiting by a large send.
 */
export const RECIPIENTS_PER_SLICE = 2_000

/** What the store made of a slice of a call's ids: their indexes, and which the tenant has opted out. */
export type KeepSlice = (from: number, recipients: RecipientIndex[], optedOut: Set<string>) => void

/**
 * Stores a call's `ids` (repeats dropped) as recipients of `message`, a slice at a
 * time; the first `stored.length` were stored with the message already. Each slice is
 * a transaction of its own, as the message row already is: a call cut short leaves the
 * recipients added so far, which a retry keeps with their tokens. Answers the message's
 * recipient count.
 */
export async function storeRecipients(
  services: { store: Store; suppressionKeys: SuppressionKeys },
  message: Message,
  ids: readonly string[],
  stored: RecipientIndex[],
  keep: KeepSlice,
): Promise<number> {
  const { store } = services
  // Whether the tenant has erased recipients' opt-outs: told by the first slice's lookup.
  let erased: boolean | undefined
  const keepSlice = async (from: number, recipients: RecipientIndex[]) => {
    const sliceIds = recipients.map((recipient) => recipient.externalId)
    const among = await optedOutAmong(services, message.tenantId, sliceIds, erased)
    erased = among.erased
    keep(from, recipients, among.out)
  }
  let recipientCount = message.recipientCount
  if (stored.length > 0) await keepSlice(0, stored)
  for (let from = stored.length; from < ids.length; from += RECIPIENTS_PER_SLICE) {
    // Between two slices (and after the one stored with the message), the event loop runs.
    if (from > 0) await nextTurn()
    const added = await store.addRecipients(message.id, ids.slice(from, from + RECIPIENTS_PER_SLICE))
    recipientCount = added.recipientCount
    await keepSlice(from, added.recipients)
  }
  return recipientCount
}
