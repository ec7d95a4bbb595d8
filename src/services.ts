import type { ClickRecorder } from './clicks/recorder.js'
import type { Config } from './config.js'
import type { Store } from './db/store.js'
import type { LinkCache } from './links/link-cache.js'
import type { RedirectCounters } from './links/redirect-counters.js'
import type { RecipientTokens } from './links/tokens.js'
import type { DomainRegistry } from './tenants/domain-registry.js'

/** What the routes and use-cases share; built once by buildApp. */
export interface Services {
  config: Config
  store: Store
  domains: DomainRegistry
  cache: LinkCache
  tokens: RecipientTokens
  recorder: ClickRecorder
  redirects: RedirectCounters
}
