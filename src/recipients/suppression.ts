import { createHmac } from 'node:crypto'
import type { Store } from '../db/store.js'

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
 * Which of these recipient ids (a slice of a call's) the tenant has opted out, erased
 * recipients included: those are looked up by their suppression key when the tenant
 * has any. `known` is whether it has (store.hasErasedOptOuts); undefined, the store
 * tells it in the same lookup as the ids. Answers the ids, and whether it has.
 */
export async function optedOutAmong(
  { store, suppressionKeys }: { store: Store; suppressionKeys: SuppressionKeys },
  tenantId: number,
  ids: string[],
  known: boolean | undefined,
): Promise<{ out: Set<string>; erased: boolean }> {
  const { optedOut: out, erased } =
    known === undefined
      ? await store.optOutsAmong(tenantId, ids)
      : {
          optedOut: ids.length === 0 ? new Set<string>() : await store.optedOutRecipients(tenantId, ids),
          erased: known,
        }
  if (!erased) return { out, erased }
  const byKey = new Map<string, string>()
  for (const id of ids) if (!out.has(id)) byKey.set(suppressionKeys.keyFor(tenantId, id), id)
  if (byKey.size === 0) return { out, erased }
  for (const key of await store.optedOutRecipients(tenantId, [...byKey.keys()])) out.add(byKey.get(key)!)
  return { out, erased }
}
