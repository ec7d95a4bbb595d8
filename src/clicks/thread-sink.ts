import type { FastifyBaseLogger } from 'fastify'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Worker } from 'node:worker_threads'
import { startThread } from '../threads.js'
import type { TapBatch } from '../click.js'
import { sliceBatch, transferables } from './click-queue.js'
import type { ClickSink } from './recorder.js'
import type { WriterReply, WriterRequest, WriterThreadData } from './writer-thread.js'

const TRANSACTION_MAX = 5_000
const POST_SLICE = 1_000
/** The id of the message a new thread sends once its database is open. */
const READY = 0
/**
 * The thread's own heap. Its live data is small (the burst rule's 100,000 tokens, one
 * transaction's records), but V8's defaults let a busy thread's heap grow to several
 * times that, mostly garbage, before collecting it. A tighter old space makes it
 * collect sooner; a thread that did run out would be started again and its batch
 * kept (see write()). Figures in docs/adr/0004.
 */
const HEAP_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 }

interface Pending {
  resolve: () => void
  reject: (err: Error) => void
}

/** The writer thread, writer-thread.ts beside this file. */
function startWorker(data: WriterThreadData): Worker {
  return startThread(import.meta.url, 'writer-thread', data, HEAP_LIMITS)
}

/**
 * Hands click batches to a worker thread with its own database connection (SQLite)
 * or pool (PostgreSQL), so that a batch's classification, inserts, commit and
 * checkpoints never hold up the event loop. A batch is acknowledged only once
 * committed; a failed one is rejected, with its error's code, and the recorder keeps
 * it and tries again under the same batch id. A thread that dies is started again on
 * the next batch.
 */
export class ThreadClickSink implements ClickSink {
  private worker: Worker | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 1

  constructor(
    private readonly data: WriterThreadData,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Settling runs in the thread, on its connection, between batches. */
  settle(before: number): Promise<void> {
    return this.send({ id: this.nextId++, settle: before })
  }

  /**
   * One transaction takes everything queued, up to this: under load, the longer a
   * write takes the more clicks share the next commit and its pages (group commit).
   */
  readonly maxBatch = TRANSACTION_MAX

  async write(batch: TapBatch, batchId: string): Promise<void> {
    // Posted in slices, one per turn of the event loop, so that no single copy holds
    // up redirects; a slice's typed arrays are transferred, not copied.
    const id = this.nextId++
    const worker = this.worker ?? this.spawn()
    for (let from = 0; ; from += POST_SLICE) {
      const clicks = sliceBatch(batch, from, from + POST_SLICE)
      if (from + POST_SLICE >= batch.length) return this.send({ id, clicks, more: false, batchId })
      worker.postMessage({ id, clicks, more: true } satisfies WriterRequest, transferables(clicks))
      await nextTurn()
      // A thread that stopped took the first slices with it: the recorder keeps the whole batch.
      if (this.worker !== worker) throw new Error('the click writer thread stopped while a batch was sent')
    }
  }

  async close(): Promise<void> {
    const worker = this.worker
    if (worker === null) return
    await this.send({ id: this.nextId++, close: true }).catch((err: Error) =>
      this.log.error({ err }, 'the click writer thread did not close cleanly'),
    )
    this.worker = null
    await worker.terminate()
  }

  private send(request: WriterRequest): Promise<void> {
    const worker = this.worker ?? this.spawn()
    return new Promise<void>((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject })
      worker.postMessage(request, 'clicks' in request ? transferables(request.clicks) : [])
    })
  }

  /** Starts the thread; resolves once it has opened the database. */
  async start(): Promise<void> {
    if (this.worker !== null) return
    const worker = this.spawn()
    await new Promise<void>((resolve, reject) => this.pending.set(READY, { resolve, reject }))
    this.log.debug({ threadId: worker.threadId }, 'click writer thread ready')
  }

  private spawn(): Worker {
    const worker = startWorker(this.data)
    // The recorder's timer and the server keep the process alive, not this thread.
    worker.unref()
    worker.on('message', (reply: WriterReply) => {
      const waiting = this.pending.get(reply.id)
      if (waiting === undefined) return
      this.pending.delete(reply.id)
      if (reply.ok) waiting.resolve()
      else waiting.reject(Object.assign(new Error(reply.error), reply.code === undefined ? {} : { code: reply.code }))
    })
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = null
      for (const waiting of this.pending.values()) waiting.reject(err)
      this.pending.clear()
    }
    worker.on('error', (err) => {
      this.log.error({ err }, 'the click writer thread failed; it starts again with the next batch')
      failAll(err)
    })
    worker.on('exit', (code) => failAll(new Error(`the click writer thread stopped (exit code ${code})`)))
    this.worker = worker
    return worker
  }
}
