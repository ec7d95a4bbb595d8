/**
 * The WAL checkpoint thread (a worker_threads entry, started by WalCheckpointThread):
 * on a connection of its own to the service's SQLite file, it copies the WAL into
 * the database file every `intervalMs` with a passive checkpoint, which waits for no
 * lock and holds up no writer. The service's own connection then need not: there a
 * checkpoint, with its fsyncs, would hold up the event loop (docs/adr/0089).
 *
 * It runs at the process's priority, unlike the click writer: a thread that waited
 * for the CPU halfway through a checkpoint would keep the others from checkpointing,
 * and the WAL would grow until the event loop had to do it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openDatabase } from '../open.js'

export interface CheckpointThreadData {
  databasePath: string
  intervalMs: number
}

const port = parentPort
if (port === null) throw new Error('checkpoint-thread.ts runs as a worker thread only')
const data = workerData as CheckpointThreadData
// A checkpoint reads the WAL and writes the file directly, not through the page cache.
const db = openDatabase(data.databasePath, { busyTimeoutMs: 0, cacheMiB: 1 })
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // A file that cannot be written fails the service's own writes, which say why; the next run tries again.
  }
}, data.intervalMs)
port.on('message', () => {
  clearInterval(timer)
  db.close()
  port.postMessage('closed')
})
