import { performance } from 'node:perf_hooks'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

/**
 * Bounds how much API work runs between two looks of the event loop for new
 * connections' data, so that a tap never waits behind a queue of API handlers
 * (docs/adr/0088).
 *
 * Node runs every request that is ready in one poll phase back to back: sixteen
 * callers creating messages as fast as they can keep the loop away from the taps
 * that arrive meanwhile for the whole batch. The gate lets an API request go on at
 * once while the API work of the current stretch has taken less than `budgetMs`;
 * past it, the request waits in a FIFO queue. The queue is drained from the loop's
 * check phase (setImmediate), one request per callback so that each runs to its
 * first wait on I/O before the next is let in, and a budget at a time: what is left
 * waits for the next turn, after the loop has polled again.
 *
 * A stretch starts with the first API request let in after the loop turned, and ends
 * at the next check phase, whose queued requests start a stretch of their own. Work a
 * request does after waiting on I/O (PostgreSQL) is not counted: it runs when its
 * answer comes, not in a stretch it was let into.
 */
export class ApiGate {
  /** Requests let in later than they arrived, since start. */
  deferred = 0
  private readonly queue: Array<() => void> = []
  /** When the current stretch's API work started (performance.now()); -1: none yet. */
  private stretchStart = -1
  /** Whether a callback that ends the stretch is queued for the next check phase. */
  private endPending = false

  constructor(private readonly budgetMs: number) {}

  /** API requests waiting to be let in. */
  get depth(): number {
    return this.queue.length
  }

  /**
   * Runs `go` now if the stretch has budget left and nobody is waiting, else as soon
   * as its turn comes; `stillWanted` is asked then, and a request nobody waits for any
   * more (its client gone) is dropped.
   */
  admit(go: () => void, stillWanted: () => boolean): void {
    if (this.queue.length === 0 && this.open()) return go()
    this.deferred++
    this.queue.push(() => {
      if (stillWanted()) go()
    })
    setImmediate(this.next)
  }

  /**
   * Installs the gate on every route that answers only on the service's own hosts:
   * the API, its docs and the dashboard. Short-link routes (redirects, unsubscribe
   * pages) and the liveness probe get no hook. It runs after the hooks the routes'
   * plugins add (authentication, the API rate limit), before the routes' own: a
   * request without a valid key is answered at once and never takes a place in the
   * queue. Install before routes are registered, after other onRoute hooks that add
   * onRequest hooks, so that it runs before them.
   */
  installRoutes(app: FastifyInstance): void {
    const gate = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      this.admit(done, () => !request.raw.destroyed)
    }
    app.addHook('onRoute', (route: RouteOptions) => {
      if ((route.config?.hosts ?? 'api') !== 'api') return
      route.onRequest = [gate, ...asArray(route.onRequest)] as RouteOptions['onRequest']
    })
  }

  /** Whether the current stretch has budget left; opens one when none is running. */
  private open(): boolean {
    const now = performance.now()
    if (this.stretchStart < 0) {
      this.stretchStart = now
      if (!this.endPending) {
        this.endPending = true
        setImmediate(this.end)
      }
      return true
    }
    return now - this.stretchStart < this.budgetMs
  }

  /**
   * Queued before any step of the check phase it runs in (see open()), so each check
   * phase starts a stretch of its own.
   */
  private readonly end = () => {
    this.endPending = false
    this.stretchStart = -1
  }

  /**
   * One per queued request, run in the check phase: lets the oldest request in, or,
   * past the budget, waits for the next turn. Nothing else runs in between: Node runs
   * a callback's process.nextTick and promise work before the next setImmediate
   * callback, so the request admitted by one step has done its synchronous work (body
   * parsing, validation, the handler up to its first I/O) before the next step looks
   * at the clock.
   */
  private readonly next = () => {
    if (this.queue.length === 0) return
    if (!this.open()) {
      setImmediate(this.next)
      return
    }
    this.queue.shift()!()
  }
}
