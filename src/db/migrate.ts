import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { SqliteDatabase } from './open.js'

/** The migrations folder, found from this file in both src/ (tsx) and dist/ (built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url))

export interface Migration {
  version: number
  name: string
  sql: string
}

export class DatabaseTooNewError extends Error {
  constructor(databaseVersion: number, codeVersion: number) {
    super(
      `database schema is version ${databaseVersion} but this build knows only up to ${codeVersion}: ` +
        'run a newer smslinks, or restore a backup taken by this version',
    )
    this.name = 'DatabaseTooNewError'
  }
}

/** Reads `NNN-name.sql` files in version order; a gap or a duplicate number is a packaging bug. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => /^\d+-[\w-]+\.sql$/.test(file))
    .map((file) => ({
      version: Number.parseInt(file, 10),
      name: file,
      sql: readFileSync(`${dir}/${file}`, 'utf8'),
    }))
    .sort((a, b) => a.version - b.version)
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3…: found ${migration.name}`)
  })
  return migrations
}

/**
 * Brings the database up to the newest migration, each one in its own transaction,
 * and records progress in `PRAGMA user_version`. Refuses a database that is newer
 * than the code. Returns the versions it applied.
 */
export function migrate(db: SqliteDatabase, migrations: Migration[] = readMigrations()): number[] {
  const current = db.pragma('user_version', { simple: true }) as number
  const latest = migrations.length
  if (current > latest) throw new DatabaseTooNewError(current, latest)
  const applied: number[] = []
  for (const migration of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(migration.sql)
      db.pragma(`user_version = ${migration.version}`)
    })()
    applied.push(migration.version)
  }
  return applied
}
