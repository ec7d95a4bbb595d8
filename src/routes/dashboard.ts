import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Readable } from 'node:stream'
import { Type } from 'typebox'
import { campaignVariants } from '../analytics/ab-test.js'
import { campaignRollUp, kindRollUp } from '../analytics/rollups.js'
import { clickCsvLines } from '../clicks/export.js'
import { statsFromCounters } from '../clicks/stats.js'
import type { Config } from '../config.js'
import { idCursor } from '../cursor.js'
import { DashboardAssets } from '../dashboard/assets.js'
import { campaignPage, overviewPage } from '../dashboard/rollup-pages.js'
import { messagePage } from '../dashboard/message-page.js'
import {
  errorPage,
  messagesPage,
  PERIODS,
  signInPage,
  type Chrome,
  type ListFilter,
  type Period,
} from '../dashboard/pages.js'
import { SESSION_COOKIE, SessionCookies, type DashboardSession } from '../dashboard/session.js'
import type { Message, MessageKind, Store } from '../db/store.js'
import { ApiError } from '../errors.js'
import { AddressRateLimit } from '../links/address-rate-limit.js'
import { hashApiKey } from '../tenants/api-keys.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in dashboard session, set by the dashboard's session hook. */
    dashboardSession: DashboardSession | null
  }
}

const Cursor = idCursor('m', 'before')
const PAGE_SIZE = 25
const DAY_MS = 86_400_000
const PERIOD_MS: Record<Period, number | null> = {
  all: null,
  '24h': DAY_MS,
  '7d': 7 * DAY_MS,
  '30d': 30 * DAY_MS,
  '90d': 90 * DAY_MS,
}

/**
 * Where the dashboard's pages come from: what they may load (files under
 * /dashboard/assets only, no inline script or style), never framed, no referrer
 * beyond the service itself.
 */
const DASHBOARD_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'same-origin' as const },
}

const hidden = { hide: true }
const onOwnHosts = { hosts: 'api' as const }

/** A path inside the dashboard to return to after signing in; anything else is dropped (no open redirect). */
function safeNext(next: unknown): string | undefined {
  if (typeof next !== 'string' || next.includes('..')) return undefined
  return /^\/dashboard(\/[\w%.~-]+)*\/?(\?[\w%=&.~+-]*)?$/.test(next) ? next : undefined
}

/**
 * The ops dashboard: server-rendered pages over the same counters the API reads, on
 * the service's own hosts only (never a tenant's short-link domain), signed in with
 * an API key exchanged for a session cookie scoped to /dashboard.
 */
export const dashboardRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  secret: string
  config: Pick<Config, 'now' | 'dashboardSessionHours' | 'dashboardSignInPerMinute' | 'abSignificance'>
}> = async (app, { store, secret, config }) => {
  const sessions = new SessionCookies(secret)
  const assets = await DashboardAssets.load()
  const signInLimit =
    config.dashboardSignInPerMinute === 0 ? null : new AddressRateLimit(config.dashboardSignInPerMinute)
  if (signInLimit !== null) app.addHook('onClose', async () => signInLimit.close())

  await app.register(cookie)
  await app.register(formbody, { bodyLimit: 2048 })
  await app.register(csrf, {
    cookieKey: 'smslinks_csrf',
    cookieOpts: { path: '/dashboard', sameSite: 'strict', httpOnly: true },
  })
  await app.register(helmet, DASHBOARD_HELMET)
  app.decorateRequest('dashboardSession', null)

  const cookieOptions = (request: FastifyRequest) => ({
    path: '/dashboard',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: request.protocol === 'https',
  })
  const chrome = (request: FastifyRequest, reply: FastifyReply): Chrome => ({
    assets: assets.urls,
    csrfToken: reply.generateCsrf(cookieOptions(request)),
  })
  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header('cache-control', 'private, no-store').type('text/html; charset=utf-8').send(body)

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown; code?: string }, request, reply) => {
    let status = error instanceof ApiError ? error.statusCode : (error.statusCode ?? 500)
    let message = error.message
    if (error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET') {
      status = 403
      message = 'The form had expired or did not come from this page. Go back, reload the page and try again.'
    } else if (error.validation) {
      status = 400
      message = `The address is not valid: ${error.message}`
    } else if (status >= 500) {
      app.log.error({ err: error }, 'dashboard request failed')
      message = 'Something went wrong on our side; it has been logged.'
    }
    const signedIn = request.dashboardSession !== null
    return send(
      reply,
      status,
      errorPage(signedIn ? chrome(request, reply) : { assets: assets.urls, csrfToken: null }, status, message),
    )
  })

  /** The session the request's cookie holds, if it is signed by us, unexpired, not ended, its key not revoked. */
  async function currentSession(request: FastifyRequest): Promise<DashboardSession | null> {
    const session = sessions.read(request.cookies[SESSION_COOKIE], config.now())
    if (session === null) return null
    return (await store.dashboardSessionLive(session.id, session.keyId)) ? session : null
  }

  /** preHandler of every signed-in page: no session, and the visitor is sent to sign in (and brought back after). */
  async function requireSession(request: FastifyRequest, reply: FastifyReply) {
    const session = await currentSession(request)
    if (session === null) {
      const next = request.method === 'GET' ? safeNext(request.url) : undefined
      return reply.redirect(
        next && next !== '/dashboard' ? `/dashboard/sign-in?next=${encodeURIComponent(next)}` : '/dashboard/sign-in',
        303,
      )
    }
    request.dashboardSession = session
  }
  const tenantOf = (request: FastifyRequest) => request.dashboardSession!.tenantId
  /** Each message with the figures its stats show, from its counters. */
  const withStats = (messages: Message[]) =>
    Promise.all(
      messages.map(async (message) => ({
        message,
        stats: statsFromCounters(message, await store.messageCounters(message.id)),
      })),
    )

  app.get('/dashboard/assets/:file', { schema: hidden, config: onOwnHosts }, async (request, reply) => {
    const asset = assets.get((request.params as { file: string }).file)
    if (asset === null) throw new ApiError(404, 'not_found', 'There is no such file.')
    return reply.header('cache-control', 'public, max-age=86400').type(asset.type).send(asset.body)
  })

  app.get(
    '/dashboard/sign-in',
    {
      schema: { ...hidden, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }) },
      config: onOwnHosts,
    },
    async (request, reply) => {
      if ((await currentSession(request)) !== null) return reply.redirect('/dashboard', 303)
      return send(reply, 200, signInPage(chrome(request, reply), { next: safeNext(request.query.next) }))
    },
  )

  app.post(
    '/dashboard/sign-in',
    {
      schema: hidden,
      config: onOwnHosts,
      bodyLimit: 2048,
      preHandler: [
        async (request) => {
          if (signInLimit !== null && !signInLimit.allow(request.ip)) {
            throw new ApiError(
              429,
              'rate_limited',
              'Too many sign-in attempts from this address. Wait a minute and try again.',
            )
          }
        },
        app.csrfProtection,
      ],
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>
      const next = safeNext(body.next)
      const apiKey = typeof body.apiKey === 'string' ? body.apiKey.trim() : ''
      const owner = apiKey === '' ? null : await store.findApiKey(hashApiKey(apiKey))
      if (owner === null) {
        const error = apiKey === '' ? 'Enter an API key.' : 'That API key is not valid or has been revoked.'
        return send(reply, 401, signInPage(chrome(request, reply), { error, next }))
      }
      const { session, value } = sessions.issue(
        owner.tenantId,
        owner.keyId,
        config.now(),
        config.dashboardSessionHours * 3_600_000,
      )
      reply.setCookie(SESSION_COOKIE, value, {
        ...cookieOptions(request),
        expires: new Date(session.expiresAt),
      })
      return reply.redirect(next ?? '/dashboard', 303)
    },
  )

  app.post(
    '/dashboard/sign-out',
    {
      schema: hidden,
      config: onOwnHosts,
      bodyLimit: 2048,
      preHandler: [requireSession, app.csrfProtection],
    },
    async (request, reply) => {
      const session = request.dashboardSession!
      await store.endDashboardSession(session.id, session.expiresAt, config.now())
      reply.clearCookie(SESSION_COOKIE, cookieOptions(request))
      return reply.redirect('/dashboard/sign-in', 303)
    },
  )

  const KindOrNone = Type.Union([
    Type.Literal(''),
    Type.Literal('campaign'),
    Type.Literal('flow'),
    Type.Literal('transactional'),
  ])
  const PeriodSchema = Type.Union(Object.keys(PERIODS).map((p) => Type.Literal(p)))

  app.get(
    '/dashboard',
    {
      schema: {
        ...hidden,
        querystring: Type.Object(
          {
            campaign: Type.Optional(Type.String({ maxLength: 128 })),
            kind: Type.Optional(KindOrNone),
            period: Type.Optional(PeriodSchema),
            before: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
      config: onOwnHosts,
      preHandler: requireSession,
    },
    async (request, reply) => {
      const query = request.query
      const filter: ListFilter = {
        campaign: query.campaign ? query.campaign : undefined,
        kind: query.kind ? (query.kind as MessageKind) : undefined,
        period: (query.period ?? 'all') as Period,
      }
      const span = PERIOD_MS[filter.period]
      const page = await store.listMessages(
        tenantOf(request),
        query.before ? Cursor.decode(query.before) : null,
        PAGE_SIZE,
        {
          campaign: filter.campaign,
          kind: filter.kind,
          from: span === null ? undefined : config.now() - span,
        },
      )
      const rows = await withStats(page.messages)
      let nextPage: string | null = null
      if (page.nextBefore !== null) {
        const params = new URLSearchParams()
        if (filter.campaign) params.set('campaign', filter.campaign)
        if (filter.kind) params.set('kind', filter.kind)
        if (filter.period !== 'all') params.set('period', filter.period)
        params.set('before', Cursor.encode(page.nextBefore))
        nextPage = `/dashboard?${params}`
      }
      return send(reply, 200, messagesPage(chrome(request, reply), filter, rows, nextPage))
    },
  )

  const MessageParams = Type.Object({ id: Type.String({ maxLength: 64 }) })

  async function messageOf(request: FastifyRequest, id: string) {
    const message = await store.getMessage(tenantOf(request), id)
    if (message === null) throw new ApiError(404, 'not_found', 'There is no such message in your account.')
    return message
  }

  app.get(
    '/dashboard/messages/:id',
    { schema: { ...hidden, params: MessageParams }, config: onOwnHosts, preHandler: requireSession },
    async (request, reply) => {
      const message = await messageOf(request, request.params.id)
      const [counters, series] = await Promise.all([
        store.messageCounters(message.id),
        store.messageClickSeries(message.id),
      ])
      const firstClicks = new Map(
        counters.breakdowns
          .filter((row) => row.dimension === 'first_click')
          .map((row) => [Number(row.value), row.clicks]),
      )
      const stats = statsFromCounters(message, counters)
      return send(
        reply,
        200,
        messagePage(chrome(request, reply), { message, stats, series, firstClicks, now: config.now() }),
      )
    },
  )

  app.get(
    '/dashboard/messages/:id/clicks.csv',
    { schema: { ...hidden, params: MessageParams }, config: onOwnHosts, preHandler: requireSession },
    async (request, reply) => {
      const message = await messageOf(request, request.params.id)
      return reply
        .header('cache-control', 'private, no-store')
        .header('content-disposition', `attachment; filename="${message.publicId}-clicks.csv"`)
        .type('text/csv; charset=utf-8')
        .send(Readable.from(clickCsvLines(store, message)))
    },
  )

  app.get(
    '/dashboard/campaigns/:campaign',
    {
      schema: { ...hidden, params: Type.Object({ campaign: Type.String({ minLength: 1, maxLength: 128 }) }) },
      config: onOwnHosts,
      preHandler: requireSession,
    },
    async (request, reply) => {
      const tenantId = tenantOf(request)
      const { campaign } = request.params
      const rollUp = await campaignRollUp(store, tenantId, campaign)
      const variants = await campaignVariants(store, config, tenantId, campaign)
      const page = await store.listMessages(tenantId, null, PAGE_SIZE, { campaign })
      const rows = await withStats(page.messages)
      const more = page.nextBefore === null ? null : `/dashboard?campaign=${encodeURIComponent(campaign)}`
      return send(reply, 200, campaignPage(chrome(request, reply), { rollUp, variants, rows, more }))
    },
  )

  app.get(
    '/dashboard/overview',
    { schema: hidden, config: onOwnHosts, preHandler: requireSession },
    async (request, reply) => {
      const tenantId = tenantOf(request)
      const to = config.now()
      const from = new Date(to - 30 * DAY_MS).toISOString()
      const kinds = await Promise.all(
        (['campaign', 'flow', 'transactional'] as const).map((kind) =>
          kindRollUp(store, tenantId, kind, from, new Date(to + 1).toISOString()),
        ),
      )
      return send(reply, 200, overviewPage(chrome(request, reply), kinds))
    },
  )
}
