import { createHmac } from 'node:crypto'
import type { Store } from '../db/store.js'
import { inSlices } from '../slices.js'

/** Recipient ids looked up (or hashed) between two turns of the event loop. */
const IDS_PER_SLICE = 5_000

/**
 * Keys that stand for an erased recipient on the tenant's opt-out list: `erased:` and
 * HMAC-SHA256(key, tenant and recipient id), the key derived from the token secret.
 * The id itself is gone, yet the same id posted again is still recognised as opted
 * out (ADR 0061).
 */
export class SuppressionKeys {
  private readonly key: Buffer

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('optout-suppression').digest()
  }

  keyFor(tenantId: number, recipientId: string): string {
    return `erased:${createHmac('sha256', this.key).update(`${tenantId}\n${recipientId}`).digest('hex').slice(0, 32)}`
  }
}

/**
 * Which of these recipient ids the tenant has opted out, erased recipients included:
 * those are looked up by their suppression key, and only when the tenant has any.
 */
export async function optedOutRecipients(
  { store, suppressionKeys }: { store: Store; suppressionKeys: SuppressionKeys },
  tenantId: number,
  ids: string[],
): Promise<Set<string>> {
  const out = new Set<string>()
  await inSlices(ids, IDS_PER_SLICE, async (slice) => {
    for (const id of await store.optedOutRecipients(tenantId, slice)) out.add(id)
  })
  if (ids.length === 0 || !(await store.hasErasedOptOuts(tenantId))) return out
  const byKey = new Map<string, string>()
  await inSlices(ids, IDS_PER_SLICE, async (slice) => {
    for (const id of slice) if (!out.has(id)) byKey.set(suppressionKeys.keyFor(tenantId, id), id)
  })
  await inSlices([...byKey.keys()], IDS_PER_SLICE, async (slice) => {
    for (const key of await store.optedOutRecipients(tenantId, slice)) out.add(byKey.get(key)!)
  })
  return out
}
