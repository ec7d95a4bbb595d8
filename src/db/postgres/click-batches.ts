import type { Queryable } from './pool.js'

/** How long a batch's id is kept: far longer than a batch is retried for. */
export const CLICK_BATCH_KEPT_MS = 86_400_000

/**
 * Records a batch's id inside its transaction. False when the id is there already: an
 * earlier attempt at the same batch committed (its reply was lost), and this one must
 * write nothing. A concurrent attempt holding the id uncommitted makes this wait for
 * its outcome, so only one of them ever writes the batch.
 */
export async function claimClickBatch(db: Queryable, id: string, now: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'INSERT INTO click_batches (id, written_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
    [id, now],
  )
  return rowCount === 1
}

/** Forgets batch ids older than `before`; returns how many. */
export async function pruneClickBatches(db: Queryable, before: number): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM click_batches WHERE written_at < $1', [before])
  return rowCount ?? 0
}
