import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
  type RouteOptions,
} from 'fastify'
import { addressPolicy } from './clicks/network.js'
import { BurstRule } from './clicks/burst.js'
import { ClickRecorder, InlineClickSink } from './clicks/recorder.js'
import { ThreadClickSink } from './clicks/thread-sink.js'
import { WalCheckpointThread } from './db/sqlite/wal-checkpoints.js'
import { randomSecret, type Config } from './config.js'
import { backendOf, openStore } from './db/open-store.js'
import type { Store } from './db/store.js'
import { installErrorHandlers } from './routes/error-handlers.js'
import { ApiGate } from './limits/api-gate.js'
import { installApiRateLimit } from './limits/api-rate-limit.js'
import { LinkCache } from './links/link-cache.js'
import { LoopWatch } from './loop-watch.js'
import { resolveTokenSecret } from './links/token-secret.js'
import { RecipientTokens, UnsubscribeTokens } from './links/tokens.js'
import { RecipientsThread } from './messages/thread-recipients.js'
import { adminRoutes } from './routes/admin.js'
import { analyticsRoutes } from './routes/analytics.js'
import { clickRoutes } from './routes/clicks.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { conversionRoutes } from './routes/conversions.js'
import { deliveryRoutes } from './routes/deliveries.js'
import { healthRoutes } from './routes/health.js'
import { messageRoutes } from './routes/messages.js'
import { optOutRoutes } from './routes/optouts.js'
import { RedirectCounters } from './links/redirect-counters.js'
import { RetentionJob } from './retention/retention-job.js'
import { SuppressionKeys } from './recipients/suppression.js'
import { CacheFollower } from './sync/cache-follower.js'
import { recipientRoutes } from './routes/recipients.js'
import { registerApiDocs } from './routes/docs.js'
import { metricsRoutes } from './routes/metrics.js'
import { lazyMetricsRegistry } from './operations/metrics.js'
import { installHostKinds, OwnHosts } from './routes/host-kinds.js'
import { robotsRoutes } from './routes/robots.js'
import { tlsCheckRoutes } from './routes/tls-check.js'
import { createLogger, installRequestLogging } from './operations/request-log.js'
import { pageLanguageFor, sendNotFoundPage } from './routes/pages.js'
import { redirectRoutes } from './routes/redirect.js'
import { unsubscribeRoutes } from './routes/unsubscribe.js'
import { webhookRoutes } from './routes/webhooks.js'
import type { Services } from './services.js'
import { installValidators } from './validation.js'
import { AllowedHosts } from './tenants/allowed-hosts.js'
import { DomainRegistry } from './tenants/domain-registry.js'
import { bootstrapDefaultTenant } from './tenants/tenants.js'
import { UnsubscribeVisitCounter } from './unsubscribe/visit-counter.js'
import { WebhookDeliveryWorker } from './webhooks/delivery-worker.js'
import { systemResolver, type ReceiverPolicy, type ResolveHost } from './webhooks/receiver-address.js'

/** Recipient tokens the burst rule remembers (about 100 bytes each). */
const BURST_MEMORY = 100_000

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

export interface BuildOptions {
  /** Fastify's logger option; defaults to pino at the configured level. */
  logger?: FastifyServerOptions['logger']
  /** A store to use instead of opening the configured one (DATABASE_URL or DATABASE_PATH). */
  store?: Store
  /** Called for every route as it is registered (tests compare them with the OpenAPI document). */
  onRoute?: (route: RouteOptions) => void
  /**
   * Who classifies and writes clicks: a thread with its own connection to the
   * database (the SQLite file, or a small pool to PostgreSQL), or the event loop
   * through the service's store. The thread unless the store is injected or the
   * database is `:memory:`, which a thread cannot share.
   */
  clickWriter?: 'thread' | 'inline'
  /** How webhook receivers' host names are resolved (tests inject their own DNS); the system's resolver by default. */
  resolveHost?: ResolveHost
}

/**
 * Builds the whole service without listening: opens the store, runs migrations,
 * wires plugins and routes. Tests call this and use `app.inject()`; server.ts
 * alone calls `listen`. Closing the app flushes queued clicks and closes the store.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // Fastify gets no logger of its own (see operations/request-log.ts); app.log is ours.
  const log = createLogger(options.logger, config.logLevel)
  const ownHosts = new OwnHosts(config)
  const app = Fastify({
    logger: false,
    // Its own line per request would come on top of ours once reply.log is a real logger.
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count n trusts the n nearest proxies (Fastify's types take it as a function).
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (config.trustProxy as number)
        : config.trustProxy,
    // A path Fastify cannot decode (`/%zz`) never reaches a route: without this it is
    // answered with Fastify's own body, not {error, message} nor a page a person can read.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const page = !request.url.startsWith('/v1/') && (request.method === 'GET' || request.method === 'HEAD')
      if (page || !ownHosts.has(request.host)) {
        return sendNotFoundPage(reply)
      }
      const code = error.code === 'FST_ERR_BAD_URL' ? 'invalid_path' : 'invalid_request'
      return reply.code(400).send({ error: code, message: `the path is not valid: ${error.message}` })
    },
  })
  app.log = log
  installRequestLogging(app, log)
  const loopWatch = new LoopWatch({ thresholdMs: config.eventLoopStallWarnMs }, log)
  loopWatch.installRoutes(app)
  const apiGate = config.apiTurnBudgetMs > 0 ? new ApiGate(config.apiTurnBudgetMs) : null
  apiGate?.installRoutes(app)
  installHostKinds(app, ownHosts)
  if (options.onRoute) app.addHook('onRoute', options.onRoute)
  // Clicks are written by a thread with its own connection to the database; an
  // in-memory database cannot be shared and an injected store (tests) is the one to
  // write to, so the event loop writes them, asynchronously: a tap never waits on a batch.
  const sharable = backendOf(config) === 'postgres' || config.databasePath !== ':memory:'
  const clickWriter = sharable ? (options.clickWriter ?? (options.store === undefined ? 'thread' : 'inline')) : 'inline'
  // Beside a click writer thread on SQLite, a thread of its own checkpoints the WAL: not the event loop.
  const checkpoints =
    clickWriter === 'thread' && backendOf(config) === 'sqlite' && options.store === undefined
      ? new WalCheckpointThread(config.databasePath, log)
      : null
  const store =
    options.store ??
    (await openStore(config, { waitOnLock: false, cacheMiB: 8, checkpointsElsewhere: checkpoints !== null }))
  let domains: DomainRegistry
  let secret: string
  try {
    domains = new DomainRegistry(await store.listDomains(), await store.listTenants())
    // TOKEN_SECRET, or the one generated on the first start; refused when it is not
    // the secret the database's links were made with (docs/adr/0074).
    secret = await resolveTokenSecret(store, config.tokenSecret, randomSecret)
  } catch (err) {
    if (options.store === undefined) await store.close().catch(() => undefined)
    throw err
  }
  const tokens = new RecipientTokens(secret)
  const sweep =
    config.sweepMinRecipients > 0
      ? {
          minRecipients: config.sweepMinRecipients,
          spanMs: config.sweepSpanMs,
          windowMs: config.sweepWindowMs,
          fastGapMs: config.sweepFastGapMs,
          maxGapVariation: config.sweepMaxGapVariation,
        }
      : undefined
  const burst = { tooFastMs: config.tooFastMs, burstWindowMs: config.burstWindowMs, maxTokens: BURST_MEMORY, sweep }
  const sink =
    clickWriter === 'thread'
      ? new ThreadClickSink(
          {
            databasePath: config.databasePath,
            databaseUrl: config.databaseUrl,
            nice: config.clickWriterNice,
            ipStorage: config.ipStorage,
            secret,
            burst,
          },
          app.log,
        )
      : new InlineClickSink(store, tokens, addressPolicy(config.ipStorage, secret), new BurstRule(burst))
  const recorder = new ClickRecorder(
    sink,
    {
      flushIntervalMs: config.clickFlushIntervalMs,
      batchSize: config.clickFlushBatch,
      maxQueue: config.clickQueueMax,
      // Batches written by the thread do not hold this event loop.
      track: clickWriter === 'inline' ? loopWatch.track : undefined,
      // Also with the rule off, so that clicks judged while it was on still settle.
      settle: { spanMs: config.sweepSpanMs, now: config.now },
    },
    app.log,
  )
  const unsubscribeVisits = new UnsubscribeVisitCounter(store, config.clickFlushIntervalMs, app.log, loopWatch.track)
  const receiverPolicy: ReceiverPolicy = {
    allowHttp: config.webhookAllowHttp,
    allowPrivateNetworks: config.webhookAllowPrivateNetworks,
    resolve: options.resolveHost ?? systemResolver,
  }
  const webhookWorker = new WebhookDeliveryWorker(
    store,
    {
      pollIntervalMs: config.webhookPollIntervalMs,
      retryBaseMs: config.webhookRetryBaseMs,
      retryMaxMs: config.webhookRetryMaxMs,
      giveUpAfterMs: config.webhookGiveUpAfterMs,
      timeoutMs: config.webhookTimeoutMs,
      connectTimeoutMs: config.webhookConnectTimeoutMs,
      responseMaxBytes: config.webhookResponseMaxBytes,
      concurrencyPerTenant: config.webhookConcurrencyPerTenant,
      track: loopWatch.track,
    },
    receiverPolicy,
    app.log,
  )
  const retention = new RetentionJob(
    store,
    {
      retentionDays: config.clickRetentionDays,
      intervalMs: config.retentionIntervalMs,
      now: config.now,
      track: loopWatch.track,
    },
    app.log,
  )
  const cache = new LinkCache({ size: config.linkCacheSize, negativeSize: config.negativeCacheSize })
  const allowedHosts = new AllowedHosts(store)
  // Changes made through another instance or the CLI reach this one's caches (src/sync/).
  const cacheFollower = new CacheFollower(
    store,
    { domains, links: cache, allowedHosts, flushClicks: () => recorder.flush() },
    app.log,
  )
  app.addHook('onClose', async () => {
    loopWatch.stop()
    await cacheFollower.stop()
    await retention.stop()
    // Posts in flight are abandoned, not lost: their events stay pending in the outbox.
    await webhookWorker.stop()
    await recorder.close()
    await unsubscribeVisits.close()
    await checkpoints?.close()
    await store.close()
  })

  const unsubscribeTokens = new UnsubscribeTokens(secret)
  // Large create and add-recipients calls are parsed, kept and answered there (ADR 0087).
  // Like the click writer thread, it needs a database it can open too (ADR 0087).
  const recipientsThread =
    config.recipientsThreadMinBytes === 0 || !sharable || options.store !== undefined
      ? null
      : new RecipientsThread(
          {
            databasePath: config.databasePath,
            databaseUrl: config.databaseUrl,
            secret,
            nice: config.recipientsThreadNice,
          },
          app.log,
          config.recipientsThreadIdleMs,
        )
  app.addHook('onClose', async () => {
    await recipientsThread?.close()
  })
  const redirects = new RedirectCounters()
  const suppressionKeys = new SuppressionKeys(secret)
  const metricsRegistry = lazyMetricsRegistry({
    cache,
    recorder,
    redirects,
    store,
    loopWatch,
    cacheFollower,
    recipientsThread,
    apiGate,
  })

  // Routes get only the services they use (see their options); the whole set is for tests and scripts.
  const services: Services = {
    config,
    store,
    domains,
    cache,
    tokens,
    recorder,
    unsubscribeTokens,
    unsubscribeVisits,
    webhookWorker,
    redirects,
    allowedHosts,
    retention,
    suppressionKeys,
    metricsRegistry,
  }
  app.decorate('services', services)

  if (config.adminToken === null) {
    const bootstrap = await bootstrapDefaultTenant(store, domains, config.publicUrl)
    if (bootstrap) {
      app.log.warn(
        { tenant: bootstrap.tenant.publicId, domain: bootstrap.domain.host, apiKey: bootstrap.key },
        'first start: created a default tenant, domain and API key (the key is shown only this once)',
      )
    }
  }

  // The API speaks JSON only; text/plain gets a 415 instead of a confusing schema error.
  app.removeContentTypeParser('text/plain')
  installValidators(app)
  installErrorHandlers(app)
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/v1/') || request.method !== 'GET') {
      return reply
        .code(404)
        .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` })
    }
    const domain = domains.lookup(request.host)
    sendNotFoundPage(reply, pageLanguageFor(reply, { tenant: domain && domains.tenantLanguage(domain) }))
  })

  await installApiRateLimit(app, {
    perKey: config.apiRateLimitPerMinute,
    perAddress: config.apiUnauthenticatedRateLimitPerMinute,
  })
  await registerApiDocs(app, config.publicUrl)
  await app.register(healthRoutes, { store, recorder })
  // On the main port only when the operator asks for it with a token (docs/adr/0013).
  if (config.metricsToken !== null) {
    await app.register(metricsRoutes, { metricsRegistry, config })
  }
  await app.register(robotsRoutes)
  await app.register(tlsCheckRoutes, { domains })
  await app.register(adminRoutes, { store, domains, config, allowedHosts })
  await app.register(messageRoutes, {
    store,
    domains,
    cache,
    allowedHosts,
    suppressionKeys,
    tokens,
    unsubscribeTokens,
    recipientsThread,
    config,
  })
  await app.register(redirectRoutes, { domains, cache, store, recorder, redirects, config })
  await app.register(unsubscribeRoutes, { domains, store, unsubscribeTokens, unsubscribeVisits })
  await app.register(deliveryRoutes, { store, config })
  await app.register(optOutRoutes, { store, suppressionKeys, now: config.now })
  await app.register(webhookRoutes, { store, receiverPolicy })
  await app.register(clickRoutes, { store })
  await app.register(analyticsRoutes, { store, config })
  await app.register(conversionRoutes, { store, recorder, config })
  await app.register(recipientRoutes, { store, recorder, suppressionKeys })
  await app.register(dashboardRoutes, { store, secret, config })

  await recorder.start()
  checkpoints?.start()
  await cacheFollower.start()
  unsubscribeVisits.start()
  webhookWorker.start()
  retention.start()
  // From ready on: compiling the routes at start-up blocks the loop before any tap can wait.
  app.addHook('onReady', async () => loopWatch.start())
  return app
}
