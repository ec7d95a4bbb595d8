import type { Queryable } from './pool.js'

/** How long a batch's id is kept: far longer than a batch is retried for. */
export const CLICK_BATCH_KEPT_MS = 86_400_000

/**
 * The statement that records a batch's id inside its transaction, for a CTE of the
 * click write, `id` and `now` being its parameters (`id` null: no batch id, nothing
 * inserted). It returns no row when the id is there already: an earlier attempt at the
 * same batch committed (its reply was lost), and this one must write nothing. A
 * concurrent attempt holding the id uncommitted makes it wait for its outcome, so only
 * one of them ever writes the batch.
 */
export function claimClickBatchSql(id: string, now: string): string {
  return `INSERT INTO click_batches (id, written_at) SELECT ${id}, ${now} WHERE ${id} IS NOT NULL
  ON CONFLICT (id) DO NOTHING RETURNING id`
}

/** Forgets batch ids older than `before`; returns how many. */
export async function pruneClickBatches(db: Queryable, before: number): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM click_batches WHERE written_at < $1', [before])
  return rowCount ?? 0
}
