import { performance } from 'node:perf_hooks'
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import type { Logger } from 'pino'
import { DurationHistogram } from './duration-histogram.js'

/** How often the watch's timer runs; a stall is measured to within this. */
const TICK_MS = 10

/** Upper bounds (seconds) of the stall-length histogram's buckets. */
const STALL_BOUNDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

/** Runs `work` as a named job, so that a stall while it runs names it (LoopWatch.track). */
export type TrackWork = <T>(label: string, work: () => Promise<T>) => Promise<T>

/** For code built without a watch. */
export const untracked: TrackWork = (_label, work) => work()

const routeLabel = (request: FastifyRequest): string => `${request.method} ${request.routeOptions.url ?? request.url}`

export interface LoopWatchOptions {
  /** A stretch that keeps the event loop from running timers this long or longer is logged; 0: off. */
  thresholdMs: number
}

/**
 * Finds the long synchronous stretches that make redirects wait. A timer runs every
 * 10 ms; when it runs late by `thresholdMs` or more, the loop was blocked that long,
 * and a warning names what ran meanwhile: the API routes in flight or answered since
 * the timer last ran, and the jobs (retention, click writing …) inside `track()`. One
 * of them held the loop; the redirect, which is never tracked, is too short to.
 * Stalls are also counted for /metrics.
 *
 * Nothing runs per tap: routes on short-link hosts get no hooks.
 */
export class LoopWatch {
  /** Stalls at or over the threshold, by length. */
  readonly stalls = new DurationHistogram(STALL_BOUNDS)
  private readonly requests = new Set<FastifyRequest>()
  private readonly jobs = new Map<string, number>()
  /**
   * Requests and jobs that ended since the last tick. The timer only runs once a stall
   * is over, and by then the request that caused it (serialising a large answer, say)
   * may have answered already: it still counts as running during the stall.
   */
  private ended: string[] = []
  private timer: NodeJS.Timeout | null = null
  private last = 0

  constructor(
    private readonly options: LoopWatchOptions,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  start(): void {
    if (this.options.thresholdMs === 0 || this.timer) return
    this.last = performance.now()
    this.timer = setInterval(() => this.tick(), TICK_MS).unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Runs `work` as the job `label`: a stall while it is running names it. */
  readonly track: TrackWork = async (label, work) => {
    this.jobs.set(label, (this.jobs.get(label) ?? 0) + 1)
    try {
      return await work()
    } finally {
      const left = this.jobs.get(label)! - 1
      if (left === 0) this.jobs.delete(label)
      else this.jobs.set(label, left)
      if (this.timer) this.ended.push(label)
    }
  }

  /**
   * What ran since the last tick: `METHOD /route/pattern` for requests and the jobs'
   * labels, each with a count when more than one.
   */
  ranSinceLastTick(): string[] {
    const counts = new Map<string, number>()
    const add = (label: string, n = 1) => counts.set(label, (counts.get(label) ?? 0) + n)
    for (const request of this.requests) add(routeLabel(request))
    for (const [label, n] of this.jobs) add(label, n)
    for (const label of this.ended) add(label)
    return [...counts].map(([label, count]) => (count === 1 ? label : `${label} (${count})`))
  }

  /**
   * Tracks every route that is not served on tenants' short-link hosts. Install
   * before routes are registered (host kinds: src/routes/host-kinds.ts).
   */
  installRoutes(app: FastifyInstance): void {
    if (this.options.thresholdMs === 0) return
    const started = async (request: FastifyRequest) => {
      this.requests.add(request)
    }
    const ended = async (request: FastifyRequest) => {
      if (this.requests.delete(request) && this.timer) this.ended.push(routeLabel(request))
    }
    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.config?.hosts === 'links') return
      route.onRequest = [started, ...asArray(route.onRequest)] as RouteOptions['onRequest']
      route.onResponse = [...asArray(route.onResponse), ended] as RouteOptions['onResponse']
      route.onRequestAbort = [...asArray(route.onRequestAbort), ended] as RouteOptions['onRequestAbort']
    })
  }

  private tick(): void {
    const now = performance.now()
    const blockedMs = now - this.last - TICK_MS
    this.last = now
    if (blockedMs < this.options.thresholdMs) {
      if (this.ended.length > 0) this.ended = []
      return
    }
    this.stalls.observe(blockedMs / 1000)
    const during = this.ranSinceLastTick()
    this.ended = []
    this.log.warn(
      { blockedMs: Math.round(blockedMs), during },
      `the event loop was blocked for ${Math.round(blockedMs)} ms` +
        (during.length ? ` while running ${during.join(', ')}` : ''),
    )
  }
}
