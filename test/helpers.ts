import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type BuildOptions } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { Backend } from '../src/db/open-store.js'
import { postgresDatabase } from './fixtures/postgres.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** Real user agents, as phones and preview fetchers send them. */
export const UA = {
  iphoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  androidChrome:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36',
  imessagePreview: 'facebookexternalhit/1.1 Facebot Twitterbot/1.0',
  whatsapp: 'WhatsApp/2.23.20.0',
  slackbot: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
}

/** A fresh database file in its own temp folder, removed when the test ends. */
export function tempDatabasePath(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'smslinks-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'smslinks.db')
}

/** A clock a test moves by hand; it starts at the real time and stands still until moved. */
export interface TestClock {
  now: () => number
  advance(ms: number): void
}

export function testClock(start = Date.now()): TestClock {
  let time = start
  return {
    now: () => time,
    advance(ms) {
      time += ms
    },
  }
}

export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres']

export interface StartOptions extends BuildOptions {
  env?: Record<string, string>
  /**
   * The database: a fresh SQLite file, or a fresh PostgreSQL database (postgresDatabase).
   * Unset: the one withEachBackend names for the test, else SQLite.
   */
  backend?: Backend
  /** A SQLite file to reuse (a restart); see reusableDatabase. */
  databasePath?: string
  /** A PostgreSQL database to reuse (a restart): selects PostgreSQL. */
  databaseUrl?: string
  /** The clock the time rules read (too_fast, burst, link expiry, retention); the real one when unset. */
  clock?: TestClock
}

/**
 * Defines a file's tests once per backend: `define` runs in a subtest named after each,
 * and startApp (with every fixture built on it) opens that backend within it.
 */
export function withEachBackend(t: Test, define: (t: Test, backend: Backend) => void): void {
  for (const backend of BACKENDS) {
    t.test(backend, async (t) => {
      // Child tests inherit the context (through its prototype): startApp reads it there.
      ;(t.context as { backend?: Backend }).backend = backend
      define(t, backend)
    })
  }
}

/** The backend withEachBackend chose for this test (or an ancestor of it); SQLite elsewhere. */
function backendOf(t: Test): Backend {
  return (t.context as { backend?: Backend } | null)?.backend ?? 'sqlite'
}

/** A database two startApp calls share (a restart), on the test's backend: pass it to both. */
export async function reusableDatabase(t: Test): Promise<{ databasePath: string } | { databaseUrl: string }> {
  return backendOf(t) === 'postgres'
    ? { databaseUrl: await postgresDatabase(t) }
    : { databasePath: tempDatabasePath(t) }
}

/**
 * Builds the service on a real database, a fresh SQLite file unless the test asks for
 * PostgreSQL (`backend`, or withEachBackend); closed (clicks flushed) when the test ends.
 * Clicks are written on the event loop unless the test asks for the writer thread
 * (`clickWriter: 'thread'`, on either backend): the same classification and SQL,
 * without starting a thread.
 */
export async function startApp(t: Test, options: StartOptions = {}): Promise<FastifyInstance> {
  const backend = options.databaseUrl === undefined ? (options.backend ?? backendOf(t)) : 'postgres'
  const loaded = loadConfig({
    ADMIN_TOKEN,
    DATABASE_PATH: options.databasePath ?? tempDatabasePath(t),
    ...(backend === 'postgres' ? { DATABASE_URL: options.databaseUrl ?? (await postgresDatabase(t)) } : {}),
    LOG_LEVEL: 'silent',
    // Long enough that tests decide when clicks are written (flushClicks), not a timer.
    CLICK_FLUSH_INTERVAL_MS: '1000',
    // Tests tap within milliseconds of creating a message, far sooner than a person
    // could: too_fast is off unless a test turns it on (test/api/too-fast.test.ts).
    TOO_FAST_MS: '0',
    // Their taps of many recipients at one instant from one address are a sweep's shape:
    // the rule is off unless a test turns it on (test/api/sweep.test.ts).
    SWEEP_MIN_RECIPIENTS: '0',
    ...options.env,
  })
  const config = options.clock ? { ...loaded, now: options.clock.now } : loaded
  const app = await buildApp(config, { clickWriter: 'inline', ...options })
  t.teardown(() => app.close())
  return app
}

export const json = <T = any>(response: LightMyRequestResponse): T => response.json() as T

/** A tenant with one domain (its short links on `scheme`, https unless told) and one API key. */
export async function createTenant(app: FastifyInstance, host = 's.shop.dk', name = 'Shop', scheme?: 'http' | 'https') {
  const tenant = json(await app.inject({ method: 'POST', url: '/v1/tenants', headers: admin, payload: { name } }))
  const domain = scheme === undefined ? { host } : { host, scheme }
  await app.inject({ method: 'POST', url: `/v1/tenants/${tenant.id}/domains`, headers: admin, payload: domain })
  const { key } = json(
    await app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenant.id}/api-keys`,
      headers: admin,
      payload: { name: 'test' },
    }),
  )
  return { tenantId: tenant.id as string, key: key as string, host }
}

export async function postMessage(app: FastifyInstance, key: string, payload: object) {
  return app.inject({ method: 'POST', url: '/v1/messages', headers: bearer(key), payload })
}

export interface TenantOptions extends StartOptions {
  host?: string
  tenantName?: string
}

/** A started service with one tenant (one domain, one API key). */
export async function startWithTenant(t: Test, options: TenantOptions = {}) {
  const { host, tenantName, ...start } = options
  const app = await startApp(t, start)
  const tenant = await createTenant(app, host, tenantName)
  return { app, ...tenant }
}

/**
 * A started service with one tenant and one message created from `payload`
 * (links, recipients and any other field of POST /v1/messages); fails the test
 * unless the message is created.
 */
export async function startWithMessage(t: Test, payload: object, options: TenantOptions = {}) {
  const started = await startWithTenant(t, options)
  const response = await postMessage(started.app, started.key, payload)
  if (response.statusCode !== 201) throw new Error(`message not created: ${response.statusCode} ${response.body}`)
  return { ...started, message: json(response) }
}

/** Follows a short URL the way a phone would: its host in the Host header. */
export async function tap(
  app: FastifyInstance,
  shortUrl: string,
  options: { userAgent?: string | null; method?: 'GET' | 'HEAD'; address?: string } = {},
) {
  const url = new URL(shortUrl)
  const userAgent = options.userAgent === undefined ? UA.iphoneSafari : options.userAgent
  // null sends no User-Agent at all: an explicit undefined stops inject() adding its own ("lightMyRequest").
  const headers: Record<string, string | undefined> = { host: url.host, 'user-agent': userAgent ?? undefined }
  return app.inject({
    method: options.method ?? 'GET',
    url: url.pathname,
    headers,
    remoteAddress: options.address ?? '203.0.113.77',
  })
}

/**
 * Presses an unsubscribe page's button: the form post a browser sends. Without a
 * `userAgent`, inject() sends its own.
 */
export function confirmUnsubscribe(
  app: FastifyInstance,
  unsubscribeUrl: string,
  options: { userAgent?: string; form?: string } = {},
) {
  const url = new URL(unsubscribeUrl)
  const headers: Record<string, string> = { host: url.host, 'content-type': 'application/x-www-form-urlencoded' }
  if (options.userAgent !== undefined) headers['user-agent'] = options.userAgent
  return app.inject({ method: 'POST', url: url.pathname, headers, payload: options.form ?? 'confirm=unsubscribe' })
}

/** Writes queued clicks now, as the recorder's timer would within its interval. */
export async function flushClicks(app: FastifyInstance): Promise<void> {
  await app.services.recorder.flush()
}

export async function stats(app: FastifyInstance, key: string, messageId: string) {
  await flushClicks(app)
  const response = await app.inject({ url: `/v1/messages/${messageId}/stats`, headers: bearer(key) })
  return json(response)
}

/** A logger that keeps each JSON log line, for tests that read the log. */
export function captureLogs() {
  const lines: any[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    },
  })
  return { lines, logger: { level: 'info', stream } }
}

export * from './fixtures/webhook-receiver.js'
export * from './fixtures/server-process.js'
export * from './fixtures/dashboard.js'
