/**
 * `horizon`: the oldest transaction of this database that the statement's snapshot
 * sees as still running, or the snapshot's xmax when none. Every row written by a
 * transaction below it is committed and visible; every row that becomes visible
 * later has an xid at or above it. Transactions that pg_locks places in another
 * database are left out (a transaction writes in one database only), so a long one
 * there, such as a migration, does not hold a reader back; an xid not found there,
 * finished meanwhile, counts, to be safe.
 */
export const COMMIT_HORIZON = `horizon AS (
  SELECT coalesce(
    (SELECT min(x) FROM pg_snapshot_xip(snap.s) AS x WHERE NOT EXISTS (
      SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'transactionid' AND l.transactionid = xid(x)
        AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
    pg_snapshot_xmax(snap.s)) AS xid
  FROM (SELECT pg_current_snapshot() AS s) AS snap
)`
