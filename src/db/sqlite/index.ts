import { migrate } from '../migrate.js'
import { openDatabase, type SqliteDatabase } from '../open.js'
import type { Store } from '../store.js'
import { SqliteCacheChanges } from './cache-changes.js'
import { SqliteClicks } from './clicks.js'
import { SqliteConnection } from './connection.js'
import { SqliteConversions } from './conversions.js'
import { SqliteLifecycle } from './lifecycle.js'
import { SqliteMessages } from './messages.js'
import { SqliteOptOuts } from './optouts.js'
import { SqliteRetention } from './retention.js'
import { SqliteRollups } from './rollups.js'
import { SqliteTenants } from './tenants.js'
import { SqliteWebhooks, WebhookSubscribers } from './webhooks.js'

export interface SqliteOpenOptions {
  waitOnLock?: boolean
  cacheMiB?: number
  /** Another connection (WalCheckpointThread's) checkpoints the WAL. */
  checkpointsElsewhere?: boolean
}

/**
 * WAL pages after which a connection that leaves checkpoints to another one does one
 * itself: 16 times SQLite's default, about 64 MB.
 */
const BACKSTOP_CHECKPOINT_PAGES = 16_000

// The class below gets every method of its parts in its constructor; this says so to the compiler.
// Each part implements its concept's interface, and Store is exactly those interfaces together.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface SqliteStore extends Store {}

/**
 * The SQLite store: one file, one connection, statements prepared once, in one part
 * per concept (src/db/sqlite/<concept>.ts) whose methods the store carries as its own.
 * The service holds two of these on the same file: the main one, and the click writer
 * thread's (ADR 0004).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SqliteStore {
  readonly db: SqliteDatabase

  private constructor(db: SqliteDatabase) {
    this.db = db
    const connection = new SqliteConnection(db)
    const subscribers = new WebhookSubscribers(db)
    const parts = [
      new SqliteTenants(connection),
      new SqliteMessages(connection),
      new SqliteClicks(connection),
      new SqliteRollups(connection),
      new SqliteOptOuts(connection),
      new SqliteWebhooks(connection, subscribers),
      new SqliteConversions(connection),
      new SqliteRetention(connection),
      new SqliteCacheChanges(connection, () => subscribers.load()),
      new SqliteLifecycle(connection),
    ]
    const self = this as unknown as Record<string, unknown>
    for (const part of parts) {
      const prototype = Object.getPrototypeOf(part) as Record<string, unknown>
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const method = prototype[name]
        if (name === 'constructor' || typeof method !== 'function') continue
        if (name in self) throw new Error(`two parts of the SQLite store define ${name}`)
        self[name] = method.bind(part)
      }
    }
  }

  /**
   * Opens the file, applies pending migrations, prepares statements. The service's
   * own store opens with `waitOnLock: false`: it never sleeps on the event loop
   * for the write lock; a call that finds it taken is retried asynchronously. With a
   * click writer thread it also needs less page cache: the random writes are there.
   * With `checkpointsElsewhere`, a thread copies the WAL into the database file
   * (WalCheckpointThread), and this connection does so only if the WAL grows far
   * beyond the usual size, when that thread cannot keep up.
   */
  static open(path: string, options: SqliteOpenOptions = {}): SqliteStore {
    const db = openDatabase(path, {
      busyTimeoutMs: options.waitOnLock === false ? 0 : 5000,
      cacheMiB: options.cacheMiB,
      autocheckpointPages: options.checkpointsElsewhere === true ? BACKSTOP_CHECKPOINT_PAGES : undefined,
    })
    try {
      migrate(db)
    } catch (err) {
      db.close()
      throw err
    }
    return new SqliteStore(db)
  }
}
