import { setTimeout as sleep } from 'node:timers/promises'
import type { SqliteDatabase } from '../open.js'

/**
 * The one better-sqlite3 connection the concept parts of a SqliteStore share. Every
 * transaction that writes starts IMMEDIATE, so two connections on one file (the
 * service's and the click writer thread's, ADR 0004) queue on the write lock
 * (busy_timeout) instead of failing with SQLITE_BUSY_SNAPSHOT when a deferred read
 * turns into a write after the other one committed.
 */
export class SqliteConnection {
  /** One transaction function for every write: wrapping each call's own would cost on every call. */
  private readonly inTransaction: ReturnType<typeof transactionOf>

  constructor(readonly db: SqliteDatabase) {
    this.inTransaction = transactionOf(db)
  }

  /** Runs fn in one IMMEDIATE transaction. */
  readonly write = <T>(fn: () => T): T => this.inTransaction.immediate(fn) as T
}

const transactionOf = (db: SqliteDatabase) => db.transaction((fn: () => unknown) => fn())

/** How long a store call keeps retrying while another connection holds the write lock. */
const BUSY_RETRY_MS = 10_000

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
}

/**
 * SQLITE_BUSY (the click writer thread, the CLI or a backup holds the write lock)
 * is retried after 1, 2, 4 … 50 ms, for up to 10 s, without blocking the event loop.
 * Safe to repeat: every call that writes more than once does it in one transaction,
 * which a busy error rolls back whole.
 */
function retryWhileBusy<T>(method: (...args: unknown[]) => Promise<T>) {
  return async function (this: unknown, ...args: unknown[]): Promise<T> {
    const started = Date.now()
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        return await method.apply(this, args)
      } catch (err) {
        if (!isBusy(err) || Date.now() - started > BUSY_RETRY_MS) throw err
        await sleep(wait)
      }
    }
  }
}

/** Wraps every async method of a concept part's class in retryWhileBusy; called once per class. */
export function retryingWhileBusy<T extends abstract new (...args: never[]) => object>(part: T): T {
  const prototype = part.prototype as Record<string, unknown>
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const method = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown
    if (typeof method !== 'function' || method.constructor.name !== 'AsyncFunction') continue
    Object.defineProperty(prototype, name, {
      value: retryWhileBusy(method as (...args: unknown[]) => Promise<unknown>),
      writable: true,
      configurable: true,
    })
  }
  return part
}
