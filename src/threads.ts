import { readdirSync, readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { Worker, type ResourceLimits } from 'node:worker_threads'

/**
 * Starts the worker thread whose entry is `name` (without extension) in the folder of
 * `from` (the caller's import.meta.url). Built, the entry is a .js file. From source
 * (tests, `npm run dev`) it is the .ts file, which a worker on Node 20 cannot load
 * through the parent's --import hooks: the thread registers tsx itself first.
 */
export function startThread(from: string, name: string, workerData: unknown, resourceLimits: ResourceLimits): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), { workerData, resourceLimits })
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const entry = JSON.stringify(new URL(`./${name}.ts`, from).href)
  return new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${entry}) })`, {
    eval: true,
    workerData,
    resourceLimits,
    // Not the parent's flags: a test runner's --import hooks would run in the thread too.
    execArgv: [],
  })
}

/**
 * Lowers the calling thread's priority, not the process's: on Linux each thread has
 * its own nice value, set through its thread id. When the CPU is saturated the event
 * loop (redirects) runs first and the thread's work waits; with spare CPU, the nice
 * value changes nothing. Elsewhere the thread keeps the process's priority.
 */
export function lowerThreadPriority(nice: number): void {
  renice(nice, () => [currentThreadId()])
}

/** The calling thread's id (Linux). */
const currentThreadId = () => Number(readlinkSync('/proc/thread-self').split('/').pop())

/** Sets the threads' nice value; where they cannot be named or lowered, they keep the process's. */
function renice(nice: number, threadIds: () => number[]): void {
  if (nice === 0) return
  try {
    for (const tid of threadIds()) setPriority(tid, nice)
  } catch {
    // no /proc or no permission: the threads keep the process's priority
  }
}

/**
 * Lowers the priority of every thread of the process but the calling one. Called by the
 * service's entry on the main thread before it starts anything, these are the threads
 * Node started: V8's workers, which mark the heap concurrently and compile in the
 * background for the event loop and for every worker thread, and libuv's pool, which
 * the module loader started (file reads; later DNS lookups for webhooks, static files).
 * At the process's priority they take turns with the event loop when the CPU is busy,
 * and a redirect waits while they run; lowered, the event loop runs first and they use
 * the time it leaves (ADR 0090). Threads the service starts keep their own.
 */
export function lowerStartupThreadsPriority(nice: number): void {
  renice(nice, () => {
    const self = currentThreadId()
    return readdirSync('/proc/self/task')
      .map(Number)
      .filter((tid) => tid !== self)
  })
}
