import pg from 'pg'

/**
 * Counts, sums and ids come back as BIGINT (int8) or NUMERIC, which pg hands over as
 * strings to be safe beyond 2^53. Every such value here is a count, an id or a time in
 * milliseconds, far below that, so the store reads them as numbers like SQLite does.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  }) as typeof pg.types.getTypeParser,
}

/** A connection to PostgreSQL that could not be made: the message says where and why, without the password. */
export class PostgresUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${reason(cause)}`)
    this.name = 'PostgresUnavailableError'
  }
}

/** Why a connection failed, on one line; a host with several addresses fails with an AggregateError and no message of its own. */
function reason(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === '') return cause.errors.map(reason).join('; ')
  const message = cause instanceof Error ? cause.message : String(cause)
  return message.replace(/\s+/g, ' ').trim() || 'unknown error'
}

/** host:port/database of a connection URL, never its user or password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`
  } catch {
    return 'DATABASE_URL'
  }
}

export function createPool(url: string, options: { max?: number; connectTimeoutMs?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    types,
  })
  // An idle connection that breaks (a server restart) is dropped from the pool; without
  // a listener its 'error' event would end the process.
  pool.on('error', () => undefined)
  return pool
}

/**
 * Runs fn on one connection of the pool, given back afterwards. A connection that
 * breaks meanwhile (the server restarts, the network goes) fails the statement in
 * flight, and also emits 'error' on the client, which would end the process without a
 * listener; such a connection is thrown away, not given back.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  const onError = (err: Error) => (broken = err)
  client.on('error', onError)
  try {
    return await fn(client)
  } finally {
    client.removeListener('error', onError)
    client.release(broken)
  }
}

/** Runs fn inside BEGIN … COMMIT on one connection, rolling back when it throws. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    }
  })
}

/** Either the pool or a client inside a transaction: what a statement runs on. */
export type Queryable = pg.Pool | pg.PoolClient
