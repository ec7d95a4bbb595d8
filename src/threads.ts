import { readlinkSync } from 'node:fs'
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
  if (nice === 0) return
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    setPriority(tid, nice)
  } catch {
    // no /proc or no permission: the thread keeps the process's priority
  }
}
