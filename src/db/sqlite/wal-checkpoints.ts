import type { FastifyBaseLogger } from 'fastify'
import { once } from 'node:events'
import type { Worker } from 'node:worker_threads'
import { startThread } from '../../threads.js'
import type { CheckpointThreadData } from './checkpoint-thread.js'

/** The thread holds one prepared statement and a timer. */
const HEAP_LIMITS = { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 }
/**
 * How often the thread checkpoints: often enough that the WAL stays near SQLite's
 * own threshold (1,000 pages) while a large send is stored (docs/adr/0089).
 */
const CHECKPOINT_INTERVAL_MS = 100

/**
 * Checkpoints the SQLite WAL from a thread of its own (checkpoint-thread.ts beside
 * this file), for a service whose connection opened with `checkpointsElsewhere`.
 * A thread that stops is not started again: that connection's backstop checkpoints.
 */
export class WalCheckpointThread {
  private worker: Worker | null = null

  constructor(
    private readonly databasePath: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    const data: CheckpointThreadData = { databasePath: this.databasePath, intervalMs: CHECKPOINT_INTERVAL_MS }
    const worker = startThread(import.meta.url, 'checkpoint-thread', data, HEAP_LIMITS)
    worker.unref()
    worker.on('error', (err) => this.log.error({ err }, 'the WAL checkpoint thread failed; the service checkpoints'))
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null
    })
    this.worker = worker
  }

  async close(): Promise<void> {
    const worker = this.worker
    if (worker === null) return
    this.worker = null
    const closed = once(worker, 'message')
    worker.postMessage('close')
    await Promise.race([closed, once(worker, 'exit')])
    await worker.terminate()
  }
}
