import { setImmediate as nextTurn } from 'node:timers/promises'
import { notFound } from '../errors.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Store } from '../db/store.js'
import { newPublicId } from '../ids.js'
import type { SuppressionKeys } from './suppression.js'

/**
 * GDPR erasure of one recipient across the tenant's messages. Each message's recipient
 * row gets a tombstone id (unique per row) and the recipient's raw clicks lose their
 * user agent, network and click id, one message per transaction with a turn of the
 * event loop between, so a recipient of many messages never stalls redirects. Then
 * the webhook events naming the id are deleted and the opt-out entry, if any, is
 * re-keyed to a suppression key. Counters and unique decisions stay: stats do not move.
 *
 * Its taps still queued are written first; if they cannot be, nothing is erased and
 * the call fails (503 while the database is away).
 *
 * Retry-safe: until the last step, the id is still somewhere and a retry finishes the
 * job. A tenant with no trace of the id gets a 404.
 */
export async function eraseRecipient(
  { store, recorder, suppressionKeys }: { store: Store; recorder: ClickRecorder; suppressionKeys: SuppressionKeys },
  tenantId: number,
  recipientId: string,
): Promise<void> {
  // Queued clicks of this recipient would otherwise be written after the erasure: when
  // they cannot be written now (the database is away), the erasure fails before it begins.
  await recorder.flushAll()
  const messages = await store.messagesWithRecipient(tenantId, recipientId)
  for (const messageId of messages) {
    await store.eraseRecipientFromMessage(messageId, recipientId, `erased_${newPublicId()}`)
    await nextTurn()
  }
  const traces = await store.eraseRecipientTraces(tenantId, recipientId, suppressionKeys.keyFor(tenantId, recipientId))
  if (messages.length === 0 && !traces) throw notFound('recipient')
}
