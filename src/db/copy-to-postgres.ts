import Database from 'better-sqlite3'
import type pg from 'pg'
import { DatabaseTooNewError, readMigrations } from './migrate.js'
import { migratePostgres } from './postgres/migrate.js'
import { createPool, describeUrl, PostgresUnavailableError, transaction } from './postgres/pool.js'

/**
 * Tables and columns only the PostgreSQL schema has, and what a copied row gets in
 * them. Anything else that one schema has and the other lacks stops the copy: a
 * table left behind would be data lost without a word.
 */
// click_batches: ids of batches written on PostgreSQL, whose retries skip them (docs/adr/0080).
const POSTGRES_ONLY_TABLES = new Set(['schema_migrations', 'click_batches'])
const POSTGRES_ONLY_COLUMNS: Record<string, Record<string, string>> = {
  // The writing transaction's id, which orders the click export on PostgreSQL
  // (docs/adr/0073); copied clicks sort before every click written there later.
  clicks: { xid: `'0'::xid8` },
  // The same for the cache change feed (docs/adr/0081).
  cache_changes: { xid: `'0'::xid8` },
}

/** Rows sent per INSERT: a few thousand, so that neither side holds a big table in memory. */
const CHUNK_ROWS = 5_000

/** The copy cannot start; nothing was written to the target. */
export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CopyRefusedError'
  }
}

export interface CopyProgress {
  table: string
  copied: number
  total: number
}

export interface CopyResult {
  /** Rows copied per table, in the order they were copied. */
  tables: Record<string, number>
  rows: number
}

interface PostgresColumn {
  name: string
  type: string
}

interface PostgresTable {
  name: string
  columns: PostgresColumn[]
  /** The identity column whose sequence must move past the copied ids, if any. */
  identity: string | null
  /** Tables this one references, which must be filled first. */
  references: string[]
}

/**
 * Copies the SQLite database at `sqlitePath` into the PostgreSQL database at
 * `postgresUrl`, which must hold no rows: migrates it, checks that both schemas have
 * the same tables and columns, then copies every table in foreign-key order, keeping
 * ids, and moves the identity sequences past them. All rows go in one PostgreSQL
 * transaction (a failed copy leaves the target migrated and empty) and are read in
 * one SQLite read transaction (one consistent state, even while a service writes).
 * Rows stream in chunks; `progress` is called after each.
 */
export async function copyToPostgres(
  sqlitePath: string,
  postgresUrl: string,
  progress: (step: CopyProgress) => void,
): Promise<CopyResult> {
  const sqlite = openSource(sqlitePath)
  try {
    const pool = createPool(postgresUrl, { max: 2 })
    try {
      await connect(pool, postgresUrl)
      const filled = await tablesWithRows(pool, await postgresTableNames(pool))
      if (filled.length > 0) throw notEmpty(postgresUrl, filled)
      await migratePostgres(pool)
      const tables = copyOrder(await postgresTables(pool))
      checkSameSchema(sqlite, tables)
      return await copyTables(sqlite, pool, postgresUrl, tables, progress)
    } finally {
      await pool.end()
    }
  } finally {
    sqlite.close()
  }
}

/** The source, read only, at the schema version this build writes. */
function openSource(path: string): Database.Database {
  let db: Database.Database
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new CopyRefusedError(`cannot open the SQLite database at ${path}: ${(err as Error).message}`)
  }
  const version = db.pragma('user_version', { simple: true }) as number
  const latest = readMigrations().length
  if (version > latest) {
    db.close()
    throw new DatabaseTooNewError(version, latest)
  }
  if (version < latest) {
    db.close()
    throw new CopyRefusedError(
      `the SQLite database at ${path} is at schema version ${version}, this build's is ${latest}: ` +
        'run "smslinks migrate" first',
    )
  }
  return db
}

async function connect(pool: pg.Pool, url: string): Promise<void> {
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    throw new PostgresUnavailableError(url, err)
  }
}

function notEmpty(url: string, tables: string[]): CopyRefusedError {
  return new CopyRefusedError(
    `the PostgreSQL database at ${describeUrl(url)} is not empty (rows in ${tables.join(', ')}): ` +
      'copy into a new, empty database',
  )
}

async function postgresTableNames(db: pg.Pool | pg.PoolClient): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
     ORDER BY c.relname`,
  )
  return rows.map((row) => row.name).filter((name) => !POSTGRES_ONLY_TABLES.has(name))
}

/** Which of these tables hold at least one row. */
async function tablesWithRows(db: pg.Pool | pg.PoolClient, tables: string[]): Promise<string[]> {
  const filled: string[] = []
  for (const table of tables) {
    const { rows } = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${quote(table)}) AS any`)
    if (rows[0]!.any) filled.push(table)
  }
  return filled
}

/** Every table of the current schema with its columns in order, identity column and references. */
async function postgresTables(pool: pg.Pool): Promise<PostgresTable[]> {
  const names = await postgresTableNames(pool)
  const { rows: columns } = await pool.query<{ table: string; name: string; type: string; identity: string }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attidentity AS identity
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
  )
  const { rows: references } = await pool.query<{ table: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS parent
     FROM pg_constraint c
     WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`,
  )
  return names.map((name) => ({
    name,
    columns: columns.filter((c) => c.table === name).map(({ name, type }) => ({ name, type })),
    identity: columns.find((c) => c.table === name && c.identity !== '')?.name ?? null,
    references: references
      .filter((r) => unquote(r.table) === name && unquote(r.parent) !== name)
      .map((r) => unquote(r.parent)),
  }))
}

/** Parents before children, so that every foreign key finds its row; otherwise by name. */
function copyOrder(tables: PostgresTable[]): PostgresTable[] {
  const ordered: PostgresTable[] = []
  const placed = new Set<string>()
  let rest = [...tables]
  while (rest.length > 0) {
    const ready = rest.filter((table) => table.references.every((parent) => placed.has(parent)))
    if (ready.length === 0) {
      throw new Error(`foreign keys form a cycle among ${rest.map((table) => table.name).join(', ')}`)
    }
    for (const table of ready) {
      ordered.push(table)
      placed.add(table.name)
    }
    rest = rest.filter((table) => !placed.has(table.name))
  }
  return ordered
}

/** Throws, naming every difference, unless both databases have the same tables and columns. */
function checkSameSchema(sqlite: Database.Database, tables: PostgresTable[]): void {
  const sqliteTables = (
    sqlite
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
      .pluck()
      .all() as string[]
  ).sort()
  const differences: string[] = []
  const postgresNames = new Set(tables.map((table) => table.name))
  for (const name of sqliteTables) if (!postgresNames.has(name)) differences.push(`table ${name} only in SQLite`)
  for (const table of tables) {
    if (!sqliteTables.includes(table.name)) {
      differences.push(`table ${table.name} only in PostgreSQL`)
      continue
    }
    const sqliteColumns = (sqlite.pragma(`table_info(${quote(table.name)})`) as Array<{ name: string }>).map(
      (column) => column.name,
    )
    const extra = POSTGRES_ONLY_COLUMNS[table.name] ?? {}
    for (const column of sqliteColumns) {
      if (!table.columns.some((c) => c.name === column)) differences.push(`${table.name}.${column} only in SQLite`)
    }
    for (const column of table.columns) {
      if (!sqliteColumns.includes(column.name) && !(column.name in extra)) {
        differences.push(`${table.name}.${column.name} only in PostgreSQL`)
      }
    }
  }
  if (differences.length > 0) {
    throw new CopyRefusedError(
      `the SQLite and PostgreSQL schemas differ (${differences.join('; ')}): nothing was copied`,
    )
  }
}

async function copyTables(
  sqlite: Database.Database,
  pool: pg.Pool,
  url: string,
  tables: PostgresTable[],
  progress: (step: CopyProgress) => void,
): Promise<CopyResult> {
  const result: CopyResult = { tables: {}, rows: 0 }
  // One read transaction: every table is read as of the same moment.
  sqlite.exec('BEGIN')
  try {
    return await transaction(pool, async (client) => {
      // Nothing else may write while the copy runs; a service that started on the target
      // meanwhile shows up as rows and stops the copy.
      await client.query(`LOCK TABLE ${tables.map((table) => quote(table.name)).join(', ')} IN EXCLUSIVE MODE`)
      const filled = await tablesWithRows(
        client,
        tables.map((table) => table.name),
      )
      if (filled.length > 0) throw notEmpty(url, filled)
      for (const table of tables) {
        const copied = await copyTable(sqlite, client, table, progress)
        result.tables[table.name] = copied
        result.rows += copied
        if (table.identity !== null && copied > 0) {
          await client.query(
            `SELECT setval(pg_get_serial_sequence($1, $2), (SELECT max(${quote(table.identity)}) FROM ${quote(table.name)}))`,
            [quote(table.name), table.identity],
          )
        }
      }
      return result
    })
  } finally {
    sqlite.exec('COMMIT')
  }
}

/** One table, streamed: a few thousand rows read, then sent as one INSERT over arrays. */
async function copyTable(
  sqlite: Database.Database,
  client: pg.PoolClient,
  table: PostgresTable,
  progress: (step: CopyProgress) => void,
): Promise<number> {
  const extra = POSTGRES_ONLY_COLUMNS[table.name] ?? {}
  const copiedColumns = table.columns.filter((column) => !(column.name in extra))
  const extraNames = table.columns.filter((column) => column.name in extra).map((column) => column.name)
  const insert =
    `INSERT INTO ${quote(table.name)} (${[...copiedColumns.map((c) => c.name), ...extraNames].map(quote).join(', ')}) ` +
    `SELECT u.*${extraNames.map((name) => `, ${extra[name]}`).join('')} ` +
    `FROM unnest(${copiedColumns.map((column, i) => `$${i + 1}::${column.type}[]`).join(', ')}) AS u`
  const total = sqlite
    .prepare(`SELECT count(*) FROM ${quote(table.name)}`)
    .pluck()
    .get() as number
  const rows = sqlite
    .prepare(`SELECT ${copiedColumns.map((column) => quote(column.name)).join(', ')} FROM ${quote(table.name)}`)
    .raw()
  let copied = 0
  let chunk: unknown[][] = []
  const send = async () => {
    await client.query(
      insert,
      copiedColumns.map((_, i) => chunk.map((row) => row[i])),
    )
    copied += chunk.length
    chunk = []
    progress({ table: table.name, copied, total })
  }
  for (const row of rows.iterate() as IterableIterator<unknown[]>) {
    chunk.push(row)
    if (chunk.length === CHUNK_ROWS) await send()
  }
  if (chunk.length > 0) await send()
  if (copied === 0) progress({ table: table.name, copied, total })
  return copied
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** regclass prints a name quoted only when it must be. */
function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name
}
