import type { ClickRecorder } from './clicks/recorder.js'
import type { Registry } from 'prom-client'
import type { Config } from './config.js'
import type { Store } from './db/store.js'
import type { LinkCache } from './links/link-cache.js'
import type { RecipientTokens, UnsubscribeTokens } from './links/tokens.js'
import type { SuppressionKeys } from './recipients/suppression.js'
import type { RetentionJob } from './retention/retention-job.js'
import type { RedirectCounters } from './links/redirect-counters.js'
import type { AllowedHosts } from './tenants/allowed-hosts.js'
import type { DomainRegistry } from './tenants/domain-registry.js'
import type { UnsubscribeVisitCounter } from './unsubscribe/visit-counter.js'
import type { WebhookDeliveryWorker } from './webhooks/delivery-worker.js'

/**
 * Every service buildApp makes, decorated as `app.services` for tests and scripts.
 * Route plugins and use-cases never take this whole set: each names the few it uses.
 */
export interface Services {
  config: Config
  store: Store
  domains: DomainRegistry
  cache: LinkCache
  tokens: RecipientTokens
  recorder: ClickRecorder
  unsubscribeTokens: UnsubscribeTokens
  unsubscribeVisits: UnsubscribeVisitCounter
  webhookWorker: WebhookDeliveryWorker
  redirects: RedirectCounters
  /** Each tenant's allow-list of destination hosts, cached. */
  allowedHosts: AllowedHosts
  retention: RetentionJob
  suppressionKeys: SuppressionKeys
  /** The Prometheus registry, built on the first scrape (operations/metrics.ts). */
  metricsRegistry: () => Registry
}
