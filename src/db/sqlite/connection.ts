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

interface Queued<I, O> {
  input: I
  resolve: (output: O) => void
  reject: (err: unknown) => void
}

/**
 * Group commit: the calls made in one turn of the event loop share one IMMEDIATE
 * transaction, and each is answered once it committed. Under concurrent callers the
 * pages they share (the tables' last leaves, the counters) are then written once per
 * transaction rather than once per call (docs/adr/0089).
 *
 * When one of them fails, the shared transaction is undone and each call runs again in
 * a transaction of its own, so that only the failing one fails. (Savepoints would undo
 * the failing call alone, but SQLite journals every page a savepoint touches, which
 * costs more than the commit saved; failures are rare: a collision of random codes.)
 *
 * The write lock taken by another connection (SQLITE_BUSY) is waited for as
 * retryWhileBusy waits, without blocking the event loop.
 */
export class GroupCommit<I, O> {
  private queue: Array<Queued<I, O>> = []

  constructor(
    private readonly connection: SqliteConnection,
    private readonly work: (input: I) => O,
  ) {}

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      if (this.queue.push({ input, resolve, reject }) === 1) setImmediate(() => void this.commit())
    })
  }

  private async commit(): Promise<void> {
    const calls = this.queue
    this.queue = []
    try {
      const outputs = await this.writeAll(calls)
      calls.forEach((call, i) => call.resolve(outputs[i]!))
    } catch (err) {
      if (calls.length === 1 || isBusy(err)) {
        for (const call of calls) call.reject(err)
        return
      }
      for (const call of calls) {
        await this.writeAll([call]).then(
          ([output]) => call.resolve(output!),
          (err: unknown) => call.reject(err),
        )
      }
    }
  }

  /** The calls' work in one transaction, waiting while another connection holds the write lock. */
  private writeAll(calls: Array<Queued<I, O>>): Promise<O[]> {
    return whileBusy(() => this.connection.write(() => calls.map((call) => this.work(call.input))))
  }
}

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
async function whileBusy<T>(attempt: () => T | Promise<T>): Promise<T> {
  const started = Date.now()
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return await attempt()
    } catch (err) {
      if (!isBusy(err) || Date.now() - started > BUSY_RETRY_MS) throw err
      await sleep(wait)
    }
  }
}

function retryWhileBusy<T>(method: (...args: unknown[]) => Promise<T>) {
  return function (this: unknown, ...args: unknown[]): Promise<T> {
    return whileBusy(() => method.apply(this, args))
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
