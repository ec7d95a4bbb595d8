import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import type { CacheChange, CacheChangeKind, CacheChangeStore, CacheChangeWatch, CacheChangeWatcher } from '../store.js'

/** How often a watch asks whether another connection has committed: well inside the second a change may take. */
const WATCH_INTERVAL_MS = 250
/** Changes read per query; a watch reads again at once while it gets full pages. */
const PAGE = 500

/** Records a change in the transaction its caller is in (see CacheChangeKind). */
export type RecordCacheChange = (kind: CacheChangeKind, key: string | number) => void

/** The insert every part that changes something cached runs inside its own transaction. */
export function cacheChangeRecorder(db: SqliteDatabase): RecordCacheChange {
  const insert = db.prepare('INSERT INTO cache_changes (kind, key, at) VALUES (?, ?, ?)')
  return (kind, key) => {
    insert.run(kind, String(key), Date.now())
  }
}

function prepare(db: SqliteDatabase) {
  return {
    head: db.prepare('SELECT coalesce(max(id), 0) FROM cache_changes').pluck(),
    after: db.prepare('SELECT id, kind, key FROM cache_changes WHERE id > ? ORDER BY id LIMIT ?'),
    prune: db.prepare(
      'DELETE FROM cache_changes WHERE id IN (SELECT id FROM cache_changes WHERE at < ? ORDER BY at LIMIT ?)',
    ),
  }
}

/**
 * The change feed on SQLite. Ids are handed out by the one writer, so they are commit
 * order and a position is the last id read. A watch asks `PRAGMA data_version` every
 * 250 ms, which moves only when another connection (the CLI, a second process, the
 * click writer thread) has committed, and reads the feed only then: changes this
 * connection makes are applied by the code that makes them.
 */
export class SqliteCacheChanges implements CacheChangeStore {
  private readonly sql: ReturnType<typeof prepare>

  constructor(
    private readonly connection: SqliteConnection,
    /** Reloads the store's own view of webhook subscriptions (WebhookSubscribers). */
    private readonly reloadSubscribers: () => void,
  ) {
    this.sql = prepare(connection.db)
  }

  async cacheChangeHead(): Promise<string> {
    return String(this.sql.head.get() as number)
  }

  async cacheChangesAfter(position: string, limit: number): Promise<{ changes: CacheChange[]; position: string }> {
    return this.readAfter(position, limit)
  }

  async pruneCacheChanges(before: number, limit: number): Promise<number> {
    return this.connection.write(() => this.sql.prune.run(before, limit).changes)
  }

  watchCacheChanges(watcher: CacheChangeWatcher): CacheChangeWatch {
    const db = this.connection.db
    let position = String(this.sql.head.get() as number)
    let version = db.pragma('data_version', { simple: true }) as number
    const poll = () => {
      if (!db.open) return
      const now = db.pragma('data_version', { simple: true }) as number
      if (now === version) return
      version = now
      for (;;) {
        const page = this.readAfter(position, PAGE)
        position = page.position
        if (page.changes.length === 0) return
        if (page.changes.some((change) => change.kind === 'webhooks')) this.reloadSubscribers()
        watcher.changes(page.changes)
        if (page.changes.length < PAGE) return
      }
    }
    const timer = setInterval(() => {
      try {
        poll()
      } catch {
        // A busy or closing file: the next tick reads from the same position.
      }
    }, WATCH_INTERVAL_MS).unref()
    return {
      started: Promise.resolve(),
      close: async () => clearInterval(timer),
    }
  }

  private readAfter(position: string, limit: number): { changes: CacheChange[]; position: string } {
    const after = Number.parseInt(position, 10) || 0
    const rows = this.sql.after.all(after, limit) as Array<{ id: number } & CacheChange>
    const last = rows.at(-1)
    return {
      changes: rows.map(({ kind, key }) => ({ kind, key })),
      position: String(last === undefined ? after : last.id),
    }
  }
}

retryingWhileBusy(SqliteCacheChanges)
