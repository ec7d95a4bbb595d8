/**
 * The click writer thread (a worker_threads entry, started by ThreadClickSink). It
 * holds its own connection to the service's database (the SQLite file, or a small
 * pool of its own to PostgreSQL) and does all of a click batch's work there:
 * classification, user agent parsing, too_fast and burst, the settle pass, and the
 * transaction with its commit (and, on SQLite, WAL checkpoints). The event loop only
 * queues clicks and posts them here. See docs/adr/0004.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { SqliteStore } from '../db/sqlite/index.js'
import { connectPostgresStore } from '../db/postgres/index.js'
import type { Store } from '../db/store.js'
import type { ClickRow, TapBatch } from '../click.js'
import { BurstRule, type BurstOptions } from './burst.js'
import { addressPolicy } from './network.js'
import type { IpStorage } from '../config.js'
import { batchRows } from './click-queue.js'
import { recordClicks } from './click-batch.js'
import { SETTLE_BATCH, settleSweeps } from './settle-sweeps.js'
import { toClickRow } from './recorder.js'
import { RecipientTokens } from '../links/tokens.js'
import { lowerThreadPriority } from '../threads.js'

export interface WriterThreadData {
  databasePath: string
  /** PostgreSQL when set (DATABASE_URL), already migrated by the service's own store. */
  databaseUrl: string | null
  /** CLICK_WRITER_NICE: this thread's nice value. */
  nice: number
  ipStorage: IpStorage
  secret: string
  burst: BurstOptions
}

/**
 * A batch comes in slices; the last one (`more: false`) has it written in one
 * transaction, under the recorder's `batchId` for it. `settle` runs the sweep rule's
 * settle pass for clicks made before it.
 */
export type WriterRequest =
  | { id: number; clicks: TapBatch; more: true }
  | { id: number; clicks: TapBatch; more: false; batchId: string }
  | { id: number; settle: number }
  | { id: number; close: true }
/**
 * Id 0 says the thread is ready: its database is open. A failure carries the error's
 * code (SQLSTATE, SQLITE_*, errno name): the recorder tells an unreachable database
 * from a refused batch by it.
 */
export type WriterReply = { id: number; ok: true } | { id: number; ok: false; error: string; code?: string }

const port = parentPort
if (port === null) throw new Error('writer-thread.ts runs as a worker thread only')
const data = workerData as WriterThreadData
lowerThreadPriority(data.nice)
/**
 * Page cache of the thread's connection: 16 MiB rather than the 32 of a default
 * connection. It keeps the service's memory under load lower, at the cost of writing
 * a backlog somewhat slower, still faster than a 1,000,000-recipient send tapped
 * within one minute needs (figures in docs/adr/0004).
 */
const WRITER_CACHE_MIB = 16
/**
 * Connections of the thread's PostgreSQL pool: batches are written one at a time, a
 * second lets the occasional prune of batch ids or a reconnect not wait on it.
 */
const WRITER_CONNECTIONS = 2
const store: Store =
  data.databaseUrl === null
    ? SqliteStore.open(data.databasePath, { cacheMiB: WRITER_CACHE_MIB })
    : connectPostgresStore(data.databaseUrl, { maxConnections: WRITER_CONNECTIONS })
const rules = new BurstRule(data.burst)
const addressToStore = addressPolicy(data.ipStorage, data.secret)
// The service's token secret: recipient tokens are checked here, not on the redirect's path.
const tokens = new RecipientTokens(data.secret)
/** The slices of the batch being received, classified as they come. */
let slices: ClickRow[] = []
port.postMessage({ id: 0, ok: true } satisfies WriterReply)

port.on('message', async (request: WriterRequest) => {
  if ('close' in request) {
    // The service terminates the thread once this is acknowledged.
    await store.close()
    port.postMessage({ id: request.id, ok: true } satisfies WriterReply)
    return
  }
  if ('settle' in request) {
    await reply(request.id, async () => {
      while ((await settleSweeps(store, request.settle, rules)) === SETTLE_BATCH);
    })
    return
  }
  for (const click of batchRows(request.clicks, tokens)) slices.push(toClickRow(click, addressToStore))
  if (request.more) return
  const batch = slices
  slices = []
  await reply(request.id, () => recordClicks(store, batch, rules, request.batchId))
})

/** Runs the work and tells the service whether it was stored. */
async function reply(id: number, work: () => Promise<void>): Promise<void> {
  try {
    await work()
    port!.postMessage({ id, ok: true } satisfies WriterReply)
  } catch (err) {
    const code = errorCode(err)
    port!.postMessage({
      id,
      ok: false,
      error: errorMessage(err),
      ...(code === undefined ? {} : { code }),
    } satisfies WriterReply)
  }
}

/**
 * An error's code; for a connection to a host of several addresses, which fails with
 * an AggregateError, the code all its errors share.
 */
function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError && err.errors.length > 0) {
    const codes = new Set(err.errors.map(errorCode))
    return codes.size === 1 ? [...codes][0] : undefined
  }
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.message === '') return err.errors.map(errorMessage).join('; ')
  return err instanceof Error ? err.message : String(err)
}
