import pg from 'pg'
import type { CacheChange, CacheChangeKind, CacheChangeWatch, CacheChangeWatcher } from '../store.js'
import { COMMIT_HORIZON } from './commit-horizon.js'
import type { Queryable } from './pool.js'

/** The channel migration 004's trigger notifies on every insert into cache_changes but a link's. */
const CHANNEL = 'smslinks_cache_changes'
/**
 * How often a watch reads the table: for created links, which are not notified (a
 * notifying transaction commits alone, and every message creates links), and for any
 * notification it missed.
 */
const BACKSTOP_POLL_MS = 500
/** Waits between attempts to get the listening connection back: doubled from the first to the last. */
const RECONNECT_FIRST_MS = 250
const RECONNECT_MAX_MS = 5_000
/** Changes read per query; the backstop reads again at once while it gets full pages. */
const PAGE = 500
/** Ids delivered by notification and not yet passed by the backstop; past this many the record starts over. */
const SEEN_MAX = 10_000

/** Records changes in the transaction `db` is in (see CacheChangeKind); migration 004's trigger notifies them on commit. */
export async function recordCacheChanges(
  db: Queryable,
  kind: CacheChangeKind,
  keys: Array<string | number>,
): Promise<void> {
  if (keys.length === 0) return
  await db.query('INSERT INTO cache_changes (kind, key, at) SELECT $1, unnest($2::text[]), $3', [
    kind,
    keys.map(String),
    Date.now(),
  ])
}

/** A position is `xid:id` of the last change read; rows sort by that pair in commit order. */
function parsePosition(position: string): [string, string] {
  const match = /^(\d+):(\d+)$/.exec(position)
  return match ? [match[1]!, match[2]!] : ['0', '0']
}

/**
 * The change feed on PostgreSQL. A sequence's ids are not in commit order, so the
 * table is read by (xid, id), only below the oldest transaction of this database still
 * running (commit-horizon.ts): every
 * change that becomes visible later has a larger xid than any returned (the same rule
 * as the click export's cursor, ADR 0073).
 */
export class PostgresCacheChanges {
  constructor(private readonly pool: pg.Pool) {}

  async cacheChangeHead(): Promise<string> {
    const { rows } = await this.pool.query<{ xid: string }>(`WITH ${COMMIT_HORIZON} SELECT xid::text FROM horizon`)
    return `${rows[0]!.xid}:0`
  }

  async cacheChangesAfter(position: string, limit: number): Promise<{ changes: CacheChange[]; position: string }> {
    const page = await this.readAfter(position, limit)
    return { changes: page.rows.map(({ kind, key }) => ({ kind, key })), position: page.position }
  }

  async pruneCacheChanges(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM cache_changes WHERE id IN (SELECT id FROM cache_changes WHERE at < $1 ORDER BY at LIMIT $2)',
      [before, limit],
    )
    return rowCount ?? 0
  }

  watchCacheChanges(watcher: CacheChangeWatcher): CacheChangeWatch {
    return new ListeningWatch(this.pool, this, watcher)
  }

  async readAfter(
    position: string,
    limit: number,
  ): Promise<{ rows: Array<{ id: string } & CacheChange>; position: string }> {
    const [xid, id] = parsePosition(position)
    const { rows } = await this.pool.query<{ id: string; xid: string } & CacheChange>(
      `WITH ${COMMIT_HORIZON}
       SELECT c.id::text, c.xid::text, c.kind, c.key FROM cache_changes c
       WHERE (c.xid, c.id) > ($1::xid8, $2::bigint) AND c.xid < (SELECT xid FROM horizon)
       ORDER BY c.xid, c.id LIMIT $3`,
      [xid, id, limit],
    )
    const last = rows.at(-1)
    return { rows, position: last === undefined ? position : `${last.xid}:${last.id}` }
  }
}

/**
 * A watch on PostgreSQL: LISTEN on a connection of its own, so a change reaches this
 * instance as soon as it commits; a read of the table twice a second; and,
 * when that connection breaks, reconnects with backoff and reports `lost` once it is
 * back (notifications sent meanwhile went nowhere), then catches up from its position.
 */
class ListeningWatch implements CacheChangeWatch {
  readonly started: Promise<void>
  private client: pg.Client | null = null
  private closed = false
  private position: Promise<string>
  /** Ids already handed over from a notification: the backstop skips them once. */
  private readonly seen = new Set<string>()
  private readonly timer: NodeJS.Timeout
  private reconnectTimer: NodeJS.Timeout | null = null
  private reading: Promise<void> = Promise.resolve()

  constructor(
    private readonly pool: pg.Pool,
    private readonly feed: PostgresCacheChanges,
    private readonly watcher: CacheChangeWatcher,
  ) {
    this.position = feed.cacheChangeHead().catch(() => '0:0')
    this.timer = setInterval(() => this.catchUp(), BACKSTOP_POLL_MS).unref()
    this.started = this.listen(RECONNECT_FIRST_MS, false)
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    await this.reading
    await this.client?.end().catch(() => undefined)
  }

  private async listen(wait: number, lostTrack: boolean): Promise<void> {
    if (this.closed) return
    const client = new pg.Client(this.pool.options)
    client.on('error', () => undefined)
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
    } catch {
      await client.end().catch(() => undefined)
      this.retry(wait)
      return
    }
    if (this.closed) {
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
    client.on('notification', (message) => this.notified(message.payload))
    client.on('end', () => {
      if (this.client !== client) return
      this.client = null
      this.retry(RECONNECT_FIRST_MS)
    })
    if (lostTrack) {
      this.watcher.lost()
      this.catchUp()
    }
  }

  private retry(wait: number): void {
    if (this.closed) return
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      void this.listen(Math.min(wait * 2, RECONNECT_MAX_MS), true)
    }, wait).unref()
  }

  private notified(payload: string | undefined): void {
    let change: { id: string | number; kind: CacheChangeKind; key: string }
    try {
      change = JSON.parse(payload ?? '') as typeof change
    } catch {
      return
    }
    if (this.seen.size >= SEEN_MAX) this.seen.clear()
    this.seen.add(String(change.id))
    this.watcher.changes([{ kind: change.kind, key: change.key }])
  }

  /** Reads what committed after the position, one read at a time, and hands over what no notification brought. */
  private catchUp(): void {
    if (this.closed) return
    this.reading = this.reading.then(async () => {
      try {
        for (;;) {
          const page = await this.feed.readAfter(await this.position, PAGE)
          this.position = Promise.resolve(page.position)
          const fresh = page.rows.filter((row) => !this.seen.delete(row.id))
          if (fresh.length > 0) this.watcher.changes(fresh.map(({ kind, key }) => ({ kind, key })))
          if (page.rows.length < PAGE || this.closed) return
        }
      } catch {
        // The database is away: the next round, or the reconnect, reads from the same position.
      }
    })
  }
}
