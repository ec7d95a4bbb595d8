import type { Config } from '../config.js'
import { openPostgresStore } from './postgres/index.js'
import { describeUrl } from './postgres/pool.js'
import { SqliteStore, type SqliteOpenOptions } from './sqlite/index.js'
import type { Store } from './store.js'

/** Which backend a configuration selects: PostgreSQL when DATABASE_URL is set, else the SQLite file. */
export type Backend = 'sqlite' | 'postgres'

export function backendOf(config: Pick<Config, 'databaseUrl'>): Backend {
  return config.databaseUrl === null ? 'sqlite' : 'postgres'
}

/** Where the configured store lives, for messages: the URL's host and database (never its password), or the file. */
export function describeStore(config: Pick<Config, 'databaseUrl' | 'databasePath'>): string {
  return config.databaseUrl === null ? config.databasePath : `postgres://${describeUrl(config.databaseUrl)}`
}

/**
 * Opens the store the configuration selects, migrations applied: PostgreSQL at
 * DATABASE_URL (rejecting with a PostgresUnavailableError that names the server when
 * it cannot be reached), or SQLite at DATABASE_PATH. The one place that chooses.
 */
export async function openStore(
  config: Pick<Config, 'databaseUrl' | 'databasePath'>,
  sqlite: SqliteOpenOptions = {},
): Promise<Store> {
  if (config.databaseUrl !== null) return openPostgresStore(config.databaseUrl)
  return SqliteStore.open(config.databasePath, sqlite)
}
