import { randomBytes } from 'node:crypto'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** What a click keeps of its client's address; never the address itself. */
export type IpStorage = 'network' | 'hash' | 'none'

export interface Config {
  port: number
  host: string
  databasePath: string
  /**
   * DATABASE_URL: a postgres:// (or postgresql://) URL selects the PostgreSQL backend;
   * null keeps SQLite at databasePath.
   */
  databaseUrl: string | null
  /** Origin of the first start's default domain (scheme, host and port); its host name is one of the service's own. */
  publicUrl: URL
  /**
   * More host names of the service's own (API_HOSTS), lower-case, without port: the API,
   * its docs and the probes answer only on these and PUBLIC_URL's host name.
   */
  apiHosts: string[]
  /** Guards the admin endpoints; when absent they answer 403. */
  adminToken: string | null
  /** Secret the recipient-token key is derived from; when absent one is generated and kept in the database. */
  tokenSecret: string | null
  logLevel: LogLevel
  /**
   * Whether X-Forwarded-For / -Host / -Proto are believed: false (never), true (any
   * hop), a hop count, or a comma-separated list of proxy addresses/CIDRs.
   */
  trustProxy: boolean | number | string
  /** Entries in the in-process link cache (one per link code, not per recipient). */
  linkCacheSize: number
  /** Remembered unknown codes, so repeated bad codes never reach the database. */
  negativeCacheSize: number
  clickFlushIntervalMs: number
  clickFlushBatch: number
  clickQueueMax: number
  /** Nice value of the click writer thread: under full CPU, redirects go first (ADR 0004). */
  clickWriterNice: number
  /** Create and add-recipients bodies this long or longer go to the recipients thread; 0: none do (ADR 0087). */
  recipientsThreadMinBytes: number
  /** Nice value of the recipients thread: under full CPU, redirects go first. */
  recipientsThreadNice: number
  /** Nice value of the threads Node starts (V8's workers, libuv's pool); 0 leaves them. */
  v8ThreadsNice: number
  /** The recipients thread stops after this long without a call, and starts again at the next. */
  recipientsThreadIdleMs: number
  /** How often the webhook worker looks for due events. */
  webhookPollIntervalMs: number
  /** Wait before the first retry of a failed webhook delivery; doubled per attempt, with jitter. */
  webhookRetryBaseMs: number
  /** Longest wait between two attempts. */
  webhookRetryMaxMs: number
  /** An event still undelivered this long after it happened is marked failed. */
  webhookGiveUpAfterMs: number
  /** How long one delivery may take before it counts as failed, from the start to the answer's last byte read. */
  webhookTimeoutMs: number
  /** How long a delivery may take to connect (DNS, TCP and TLS) before it counts as failed. */
  webhookConnectTimeoutMs: number
  /** Bytes of a receiver's answer read at most; the rest is not read and the connection is closed. */
  webhookResponseMaxBytes: number
  /** Deliveries in flight at once per tenant: one tenant's slow receiver cannot hold the others' back. */
  webhookConcurrencyPerTenant: number
  /** Whether webhook URLs may be plain http (otherwise https only). */
  webhookAllowHttp: boolean
  /** Whether webhooks may go to private, loopback, link-local and carrier-grade NAT addresses (never metadata). */
  webhookAllowPrivateNetworks: boolean
  /**
   * When set, GET /metrics requires it as a bearer token wherever it answers, and answers
   * on the service's own hosts of the main port too.
   */
  metricsToken: string | null
  /** Port of the separate listener that serves GET /metrics; null: no such listener. */
  metricsPort: number | null
  /** Address that listener binds; loopback unless the operator opens it. */
  metricsHost: string
  /** /v1 requests per minute per API key (and for the admin token); 0 = no limit. */
  apiRateLimitPerMinute: number
  /** /v1 requests per minute per client address without valid credentials; 0 = no limit. */
  apiUnauthenticatedRateLimitPerMinute: number
  /** A stretch that blocks the event loop this long is logged with what was running; 0 = off. */
  eventLoopStallWarnMs: number
  /**
   * API work let run between two polls of the event loop before further API requests
   * wait for the next turn, so that taps are not held behind them (docs/adr/0088); 0 = off.
   */
  apiTurnBudgetMs: number
  /** Counted redirects per minute per client address; taps beyond it still redirect but are not counted; 0 = no limit. */
  redirectRateLimitPerMinute: number
  /** network: the /24 or /48; hash: a keyed hash whose key changes every UTC day; none: nothing. */
  ipStorage: IpStorage
  /** Raw click rows (and finished webhook outbox rows) older than this many days are deleted. */
  clickRetentionDays: number
  /** How often the retention job runs. */
  retentionIntervalMs: number
  /** A recipient's click sooner than this after its delivery report (or the message's creation) is bot/too_fast; 0 turns it off. */
  tooFastMs: number
  /** A recipient token fetched from a second network within this window is bot/burst; 0 turns it off. */
  burstWindowMs: number
  /** The sweep rule (docs/adr/0084): fewest recipients one identity fetches within its span; 0 turns it off. */
  sweepMinRecipients: number
  /** Fetches within this time either side of a fetch are its neighbourhood; a click settles this long after it was made. */
  sweepSpanMs: number
  /** Clicks within this time of a message's creation are judged (and settle before they count). */
  sweepWindowMs: number
  /** A neighbourhood whose mean gap is at most this is machine-fast. */
  sweepFastGapMs: number
  /** A neighbourhood whose gaps' coefficient of variation is at most this is machine-even. */
  sweepMaxGapVariation: number
  /** An A/B test names a winner only when its p-value is below this. */
  abSignificance: number
  /** A conversion is attributed to the last human click at most this many days before it. */
  attributionWindowDays: number
  /** How long a dashboard session lasts after signing in. */
  dashboardSessionHours: number
  /** Dashboard sign-in attempts per minute per client address; 0 = no limit. */
  dashboardSignInPerMinute: number
  /**
   * The clock the time rules read (too_fast, burst, link expiry, retention): Date.now,
   * except in tests that move time instead of waiting for it.
   */
  now: () => number
}

/** A bad environment variable: the message names it and says what is accepted. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string, value: string) {
    super(`${variable} ${problem} (got ${JSON.stringify(value)})`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

function read(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`, raw)
  }
  return value
}

function flag(env: Env, name: string): boolean {
  const raw = read(env, name)
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  throw new ConfigError(name, 'must be true or false', raw)
}

function secret(env: Env, name: string, minLength: number): string | null {
  const raw = read(env, name)
  if (raw === undefined) return null
  if (raw.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters long`, '…')
  return raw
}

function trustProxy(env: Env): boolean | number | string {
  const raw = read(env, 'TRUST_PROXY')
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 0, 100)
  const entries = raw.split(',').map((entry) => entry.trim())
  if (entries.some((entry) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError(
      'TRUST_PROXY',
      'must be true, false, a hop count, or proxy addresses such as 10.0.0.1,10.0.1.0/24',
      raw,
    )
  }
  return entries.join(',')
}

/**
 * API_HOSTS: comma-separated host names (or IP addresses), without scheme, port or path.
 * Returned lower-case, international names as punycode, as a Host header carries them.
 */
function apiHosts(env: Env): string[] {
  const raw = read(env, 'API_HOSTS')
  if (raw === undefined) return []
  return raw.split(',').map((entry) => {
    const name = entry.trim()
    let hostname = ''
    try {
      if (/^[^/?#@:%\s]+$|^\[[0-9a-fA-F:.]+\]$/.test(name)) hostname = new URL(`http://${name}`).hostname
    } catch {
      // not a host name: refused below
    }
    if (!/^[a-z0-9_.-]+$|^\[[0-9a-f:.]+\]$/.test(hostname)) {
      throw new ConfigError(
        'API_HOSTS',
        'must be host names without scheme, port or path, separated by commas, such as api.example.com,10.0.0.5',
        name,
      )
    }
    return hostname
  })
}

/** METRICS_PORT: a port (0 lets the system pick one), or off for no metrics listener. */
function metricsPort(env: Env): number | null {
  const raw = read(env, 'METRICS_PORT')
  if (raw === undefined) return 9464
  if (raw === 'off') return null
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value > 65535) {
    throw new ConfigError('METRICS_PORT', 'must be a whole number from 0 to 65535, or off', raw)
  }
  return value
}

const IP_STORAGE: readonly IpStorage[] = ['network', 'hash', 'none']

function fraction(env: Env, name: string, fallback: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!/^0?\.\d+$/.test(raw) || !(value > 0 && value < 1)) {
    throw new ConfigError(name, 'must be a number between 0 and 1, such as 0.05', raw)
  }
  return value
}

/**
 * DATABASE_URL, checked for shape only (reaching the server is the store's job). The
 * value is never echoed back: it usually carries a password.
 */
function databaseUrl(env: Env): string | null {
  const raw = read(env, 'DATABASE_URL')
  if (raw === undefined) return null
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('DATABASE_URL', 'must be a URL such as postgres://user:password@host:5432/smslinks', '…')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://', `${url.protocol}//…`)
  }
  if (url.hostname === '')
    throw new ConfigError('DATABASE_URL', 'must name a host, as in postgres://user@host/smslinks', '…')
  if (url.pathname.length <= 1) {
    throw new ConfigError('DATABASE_URL', 'must name a database, as in postgres://user@host/smslinks', '…')
  }
  return raw
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/**
 * Reads the service's configuration from environment variables.
 * Throws a ConfigError naming the first invalid variable.
 */
export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535)
  const publicUrlRaw = read(env, 'PUBLIC_URL') ?? `http://localhost:${port}`
  let publicUrl: URL
  try {
    publicUrl = new URL(publicUrlRaw)
  } catch {
    throw new ConfigError('PUBLIC_URL', 'must be an absolute http(s) URL such as https://s.brand.dk', publicUrlRaw)
  }
  if (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') {
    throw new ConfigError('PUBLIC_URL', 'must start with http:// or https://', publicUrlRaw)
  }
  if (publicUrl.pathname !== '/' || publicUrl.search !== '' || publicUrl.hash !== '') {
    throw new ConfigError('PUBLIC_URL', 'must be an origin without a path, such as https://s.brand.dk', publicUrlRaw)
  }

  const logLevel = (read(env, 'LOG_LEVEL') ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel)
  }

  const webhookRetryBaseMs = integer(env, 'WEBHOOK_RETRY_BASE_MS', 30_000, 1, 86_400_000)
  const webhookRetryMaxMs = integer(env, 'WEBHOOK_RETRY_MAX_MS', 3_600_000, 1, 86_400_000)
  if (webhookRetryMaxMs < webhookRetryBaseMs) {
    throw new ConfigError(
      'WEBHOOK_RETRY_MAX_MS',
      `must be at least WEBHOOK_RETRY_BASE_MS (${webhookRetryBaseMs})`,
      String(webhookRetryMaxMs),
    )
  }

  const webhookTimeoutMs = integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 1, 120_000)

  const ipStorage = (read(env, 'IP_STORAGE') ?? 'network') as IpStorage
  if (!IP_STORAGE.includes(ipStorage)) {
    throw new ConfigError('IP_STORAGE', `must be one of ${IP_STORAGE.join(', ')}`, ipStorage)
  }
  const tokenSecret = secret(env, 'TOKEN_SECRET', 32)
  // A generated secret lives in the database: with it, anyone holding the file could
  // hash all 2^32 IPv4 addresses and reverse every stored hash (ADR 0060).
  if (ipStorage === 'hash' && tokenSecret === null) {
    throw new ConfigError(
      'IP_STORAGE',
      'hash needs TOKEN_SECRET set (the hash key must not be stored in the database)',
      ipStorage,
    )
  }

  return {
    port,
    host: read(env, 'HOST') ?? '0.0.0.0',
    databasePath: read(env, 'DATABASE_PATH') ?? './data/smslinks.db',
    databaseUrl: databaseUrl(env),
    publicUrl,
    apiHosts: apiHosts(env),
    adminToken: secret(env, 'ADMIN_TOKEN', 16),
    tokenSecret,
    logLevel,
    trustProxy: trustProxy(env),
    linkCacheSize: integer(env, 'LINK_CACHE_SIZE', 100_000, 1, 10_000_000),
    negativeCacheSize: integer(env, 'NEGATIVE_CACHE_SIZE', 50_000, 1, 10_000_000),
    clickFlushIntervalMs: integer(env, 'CLICK_FLUSH_INTERVAL_MS', 50, 1, 1000),
    clickFlushBatch: integer(env, 'CLICK_FLUSH_BATCH', 500, 1, 100_000),
    clickQueueMax: integer(env, 'CLICK_QUEUE_MAX', 1_000_000, 1, 10_000_000),
    clickWriterNice: integer(env, 'CLICK_WRITER_NICE', 19, 0, 19),
    recipientsThreadMinBytes: integer(env, 'RECIPIENTS_THREAD_MIN_BYTES', 64 * 1024, 0, 16 * 1024 * 1024),
    recipientsThreadNice: integer(env, 'RECIPIENTS_THREAD_NICE', 10, 0, 19),
    recipientsThreadIdleMs: integer(env, 'RECIPIENTS_THREAD_IDLE_MS', 10_000, 1, 86_400_000),
    v8ThreadsNice: integer(env, 'V8_THREADS_NICE', 10, 0, 19),
    webhookPollIntervalMs: integer(env, 'WEBHOOK_POLL_INTERVAL_MS', 1000, 1, 60_000),
    webhookRetryBaseMs,
    webhookRetryMaxMs,
    webhookGiveUpAfterMs: integer(env, 'WEBHOOK_GIVE_UP_AFTER_MS', 86_400_000, 1, 30 * 86_400_000),
    webhookTimeoutMs,
    webhookConnectTimeoutMs: Math.min(integer(env, 'WEBHOOK_CONNECT_TIMEOUT_MS', 5_000, 1, 120_000), webhookTimeoutMs),
    webhookResponseMaxBytes: integer(env, 'WEBHOOK_RESPONSE_MAX_BYTES', 65_536, 0, 10_485_760),
    webhookConcurrencyPerTenant: integer(env, 'WEBHOOK_CONCURRENCY_PER_TENANT', 4, 1, 50),
    webhookAllowHttp: flag(env, 'WEBHOOK_ALLOW_HTTP'),
    webhookAllowPrivateNetworks: flag(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS'),
    metricsToken: secret(env, 'METRICS_TOKEN', 16),
    metricsPort: metricsPort(env),
    metricsHost: read(env, 'METRICS_HOST') ?? '127.0.0.1',
    apiRateLimitPerMinute: integer(env, 'API_RATE_LIMIT_PER_MINUTE', 120_000, 0, 100_000_000),
    apiUnauthenticatedRateLimitPerMinute: integer(env, 'API_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    eventLoopStallWarnMs: integer(env, 'EVENT_LOOP_STALL_WARN_MS', 50, 0, 60_000),
    apiTurnBudgetMs: integer(env, 'API_TURN_BUDGET_MS', 1, 0, 1_000),
    redirectRateLimitPerMinute: integer(env, 'REDIRECT_RATE_LIMIT_PER_MINUTE', 6000, 0, 10_000_000),
    ipStorage,
    clickRetentionDays: integer(env, 'CLICK_RETENTION_DAYS', 400, 1, 36_500),
    retentionIntervalMs: integer(env, 'RETENTION_INTERVAL_MS', 3_600_000, 10, 86_400_000),
    tooFastMs: integer(env, 'TOO_FAST_MS', 2_000, 0, 600_000),
    burstWindowMs: integer(env, 'BURST_WINDOW_MS', 10_000, 0, 3_600_000),
    sweepMinRecipients: integer(env, 'SWEEP_MIN_RECIPIENTS', 8, 0, 1_000),
    sweepSpanMs: integer(env, 'SWEEP_SPAN_MS', 20_000, 1_000, 30_000),
    sweepWindowMs: integer(env, 'SWEEP_WINDOW_MS', 600_000, 0, 86_400_000),
    sweepFastGapMs: integer(env, 'SWEEP_FAST_GAP_MS', 200, 0, 10_000),
    sweepMaxGapVariation: fraction(env, 'SWEEP_MAX_GAP_VARIATION', 0.25),
    abSignificance: fraction(env, 'AB_SIGNIFICANCE', 0.05),
    attributionWindowDays: integer(env, 'ATTRIBUTION_WINDOW_DAYS', 5, 1, 365),
    dashboardSessionHours: integer(env, 'DASHBOARD_SESSION_HOURS', 12, 1, 720),
    dashboardSignInPerMinute: integer(env, 'DASHBOARD_SIGN_IN_PER_MINUTE', 10, 0, 10_000),
    now: Date.now,
  }
}

/** A fresh random secret, for tests and for the generated TOKEN_SECRET. */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url')
}
