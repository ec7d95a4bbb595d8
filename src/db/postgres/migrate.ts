import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { DatabaseTooNewError, readMigrations, type Migration } from '../migrate.js'
import { transaction } from './pool.js'

/** The PostgreSQL migrations, found from this file in both src/ (tsx) and dist/ (built). */
export const POSTGRES_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/postgres/', import.meta.url))

/**
 * Key of the advisory lock that serialises migrations across instances: any fixed
 * 64-bit number that no other lock of this database uses ("smslinks" in ASCII).
 */
const MIGRATION_LOCK = '8313472487208232051'

/**
 * Brings the database up to the newest migration. Everything happens in one
 * transaction that first takes a transaction-level advisory lock: instances starting
 * together queue on it, and each one after the first finds the work done, so every
 * migration is applied exactly once. Applied versions are recorded in
 * schema_migrations; a database newer than the code is refused. Returns the versions
 * this call applied.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: Migration[] = readMigrations(POSTGRES_MIGRATIONS_DIR),
): Promise<number[]> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version    INTEGER PRIMARY KEY,
         name       TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    )
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM schema_migrations',
    )
    const current = rows[0]?.version ?? 0
    const latest = migrations.length
    if (current > latest) throw new DatabaseTooNewError(current, latest)
    const applied: number[] = []
    for (const migration of migrations.slice(current)) {
      await client.query(migration.sql)
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ])
      applied.push(migration.version)
    }
    return applied
  })
}
