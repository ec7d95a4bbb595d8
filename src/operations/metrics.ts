import type { RecipientsThread } from '../messages/thread-recipients.js'
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Store } from '../db/store.js'
import type { LinkCache } from '../links/link-cache.js'
import type { CacheFollower } from '../sync/cache-follower.js'
import type { RedirectCounters } from '../links/redirect-counters.js'
import type { DurationHistogram } from '../duration-histogram.js'
import type { LoopWatch } from '../loop-watch.js'
import type { ApiGate } from '../limits/api-gate.js'

/**
 * A prom-client histogram fed from a DurationHistogram at scrape time. prom-client's
 * own Histogram can only be filled one observation at a time, so this object speaks
 * the registry's metric interface (name, help, type, get, reset) directly.
 */
function histogramMetric(name: string, help: string, source: DurationHistogram): Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    async get() {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = []
      let cumulative = 0
      source.bounds.forEach((bound, i) => {
        cumulative += source.counts[i]!
        values.push({ metricName: `${name}_bucket`, labels: { le: bound }, value: cumulative })
      })
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: source.count })
      values.push({ metricName: `${name}_sum`, labels: {}, value: source.sum })
      values.push({ metricName: `${name}_count`, labels: {}, value: source.count })
      return { name, help, type: 'histogram', values, aggregator: 'sum' }
    },
  }
  return metric as unknown as Metric
}

/** A counter whose value is read from the service's own tally when scraped. */
function counterFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}

function gaugeFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read())
    },
  })
}

/** What the metrics are read from. */
export interface MetricSources {
  cache: LinkCache
  recorder: ClickRecorder
  redirects: RedirectCounters
  store: Store
  loopWatch: LoopWatch
  cacheFollower: Pick<CacheFollower, 'applied' | 'reloads'>
  /** Null when RECIPIENTS_THREAD_MIN_BYTES is 0. */
  recipientsThread: Pick<RecipientsThread, 'taken' | 'held'> | null
  /** Null when API_TURN_BUDGET_MS is 0: its metrics then read 0. */
  apiGate: Pick<ApiGate, 'depth' | 'deferred'> | null
}

/**
 * The app's registry, built on the first scrape: an app nobody scrapes never starts the
 * default collectors (event-loop delay monitor, GC observer). The app builds one and
 * hands it to every place that serves /metrics (the metrics listener, the main port
 * with METRICS_TOKEN).
 */
export function lazyMetricsRegistry(sources: MetricSources): () => Registry {
  let registry: Registry | null = null
  return () => (registry ??= buildMetricsRegistry(sources))
}

/**
 * How often the event loop's delay is sampled for `nodejs_eventloop_lag_*`. prom-client
 * reports the time between two samples, so those figures are the delay plus this
 * interval: an idle loop shows about 10 ms (prometheus/client_js#370).
 */
export const EVENT_LOOP_SAMPLE_MS = 10

/**
 * The service's Prometheus metrics, in a registry of its own (one per app, so tests
 * can build many). Everything is read at scrape time from the plain counters the
 * redirect, the link cache and the click recorder keep; nothing here runs per request.
 */
export function buildMetricsRegistry(services: MetricSources): Registry {
  const { cache, recorder, redirects, store, loopWatch, cacheFollower, recipientsThread, apiGate } = services
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  counterFrom(
    registry,
    'smslinks_recipients_thread_bodies_total',
    'Create and add-recipients bodies of RECIPIENTS_THREAD_MIN_BYTES or more parsed and answered by the recipients thread',
    () => recipientsThread?.taken ?? 0,
  )
  gaugeFrom(
    registry,
    'smslinks_recipients_thread_calls',
    'Calls whose recipients the recipients thread holds now: being stored, or their answer being read',
    () => recipientsThread?.held ?? 0,
  )

  new Counter({
    name: 'smslinks_redirects_total',
    help:
      'Short-link requests by outcome: redirected (302), not_found (no such code on a known host), unknown_host, ' +
      'unavailable (503: not in memory while the database could not be reached)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ outcome: 'redirected' }, redirects.redirected)
      this.inc({ outcome: 'not_found' }, redirects.notFound)
      this.inc({ outcome: 'unknown_host' }, redirects.unknownHost)
      this.inc({ outcome: 'unavailable' }, redirects.unavailable)
    },
  })
  registry.registerMetric(
    histogramMetric(
      'smslinks_redirect_duration_seconds',
      'Time from the redirect handler starting (after routing) to its 302 being written, database lookup on a cache miss included',
      redirects.latency,
    ),
  )

  registry.registerMetric(
    histogramMetric(
      'smslinks_event_loop_stall_seconds',
      'Stretches that blocked the event loop for EVENT_LOOP_STALL_WARN_MS or longer (each one is also logged with what was running); redirects waited that long',
      loopWatch.stalls,
    ),
  )

  counterFrom(
    registry,
    'smslinks_redirects_not_counted_total',
    'Taps redirected but not counted as clicks because their address was over REDIRECT_RATE_LIMIT_PER_MINUTE',
    () => redirects.rateLimited,
  )
  counterFrom(
    registry,
    'smslinks_link_cache_hits_total',
    'Short-code lookups answered from memory (negative entries included)',
    () => cache.hits,
  )
  counterFrom(
    registry,
    'smslinks_link_cache_misses_total',
    'Short-code lookups that went to the database',
    () => cache.misses,
  )
  gaugeFrom(registry, 'smslinks_link_cache_entries', 'Links held in the in-memory cache', () => cache.size)
  counterFrom(
    registry,
    'smslinks_cache_changes_applied_total',
    'Changes made through another instance or the CLI applied to the in-memory caches',
    () => cacheFollower.applied,
  )
  counterFrom(
    registry,
    'smslinks_cache_reloads_total',
    'Times every in-memory cache was read again: at start, and after the change feed lost track (a reconnect to the database)',
    () => cacheFollower.reloads,
  )

  gaugeFrom(
    registry,
    'smslinks_api_queue_depth',
    'API requests waiting for a turn of the event loop with API_TURN_BUDGET_MS left',
    () => apiGate?.depth ?? 0,
  )
  counterFrom(
    registry,
    'smslinks_api_requests_deferred_total',
    'API requests that waited for a later turn of the event loop because API_TURN_BUDGET_MS was spent',
    () => apiGate?.deferred ?? 0,
  )

  gaugeFrom(registry, 'smslinks_click_queue_depth', 'Clicks waiting in memory to be written', () => recorder.depth)
  gaugeFrom(
    registry,
    'smslinks_click_queue_capacity',
    'Clicks the queue holds at most (CLICK_QUEUE_MAX)',
    () => recorder.capacity,
  )
  counterFrom(registry, 'smslinks_clicks_written_total', 'Clicks written to the database', () => recorder.written)
  counterFrom(
    registry,
    'smslinks_clicks_dropped_total',
    'Clicks not recorded because the queue was full or the database failed at shutdown (their taps were still redirected)',
    () => recorder.dropped,
  )
  registry.registerMetric(
    histogramMetric(
      'smslinks_click_flush_duration_seconds',
      'Time to classify one batch of clicks and write it with its counters in one transaction',
      recorder.flushDuration,
    ),
  )
  new Gauge({
    name: 'smslinks_webhook_backlog',
    help: 'Webhook events waiting in the outbox for a (first or retried) delivery',
    registers: [registry],
    async collect() {
      this.set(await store.pendingWebhookEvents())
    },
  })
  return registry
}
