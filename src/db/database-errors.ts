/**
 * What a database error means for the one who tried: wait and try again, or stop
 * trying. Both backends' errors are read here, by their codes (SQLSTATE on
 * PostgreSQL, SQLITE_* on SQLite, errno names for sockets).
 */
import { PostgresUnavailableError } from './postgres/pool.js'

/** SQLSTATE classes and codes for a server that is gone, restarting or full of connections. */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[1-3]|53300)$/
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])
/** node-postgres says a connection broke or never came in words, without a code. */
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end)/

/**
 * Whether the database could not be reached, or went away during the statement: the
 * same request may well succeed in a moment. Not for errors the database answered
 * with (a constraint, bad data): those say the request itself is wrong.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof PostgresUnavailableError) return true
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_ERRNOS.has(code))) return true
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.every(isDatabaseUnavailable)
  return UNAVAILABLE_MESSAGES.test(err.message)
}

/** SQLSTATE classes of a statement refused for what it holds: data exception, integrity, syntax or access. */
const REFUSED_SQLSTATES = /^(22|23|42)...$/

/**
 * Whether the database refused the statement itself (bad data, a broken constraint, a
 * missing column): trying the same statement again gets the same answer. Busy, locked
 * or unreachable databases are not this.
 */
export function isStatementRefused(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return false
  return REFUSED_SQLSTATES.test(code) || code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH'
}
