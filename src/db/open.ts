import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export type SqliteDatabase = Database.Database

/**
 * Opens (creating if needed) the SQLite file with the pragmas the service relies on:
 * WAL so readers never wait on the writer, synchronous=NORMAL (a commit survives a
 * process crash; a power cut may lose the last few), foreign keys, and a busy timeout
 * for the CLI or a backup touching the same file, and a larger page cache.
 */
export function openDatabase(
  path: string,
  options: { busyTimeoutMs?: number; cacheMiB?: number; autocheckpointPages?: number } = {},
): SqliteDatabase {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
  // 32 MiB of page cache by default (SQLite's is 2 MiB): first-click inserts land at
  // random places in the unique tables' B-trees, and a miss there is a disk read
  // inside the flush.
  db.pragma(`cache_size = -${(options.cacheMiB ?? 32) * 1024}`)
  // How large the WAL may grow before a commit on this connection copies it into the
  // database file (SQLite's default: 1,000 pages).
  if (options.autocheckpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${options.autocheckpointPages}`)
  return db
}
