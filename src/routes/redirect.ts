import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { parseShortPath } from '../links/codes.js'
import { AddressRateLimit } from '../links/address-rate-limit.js'
import { clickIdFor, locationFor, type RedirectTarget } from '../links/redirect-target.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Config } from '../config.js'
import type { LinkCache } from '../links/link-cache.js'
import type { RedirectCounters } from '../links/redirect-counters.js'
import type { DomainRegistry } from '../tenants/domain-registry.js'
import type { Tap } from '../click.js'
import type { Domain, Store } from '../db/store.js'
import { pageLanguageFor, sendExpiredPage, sendNotFoundPage, sendUnavailablePage } from './pages.js'

type ShortLinkRequest = FastifyRequest<{ Params: { slug: string } }>

/**
 * The hot path: `GET /{code}` and `GET /{code}-{token}` on a tenant's host.
 * Host and code are resolved from memory (the database only on a cache miss; a miss
 * while the database is away gets a 503 page that asks to try again), the
 * 302 is written, and only then is the tap handed to the recorder. Its token is
 * checked (SipHash) in the click writer thread, with the classification, not here.
 * Nothing here waits on a disk, and nothing logs per request.
 *
 * No params schema on purpose: every path must get the 404 page a person can read,
 * never a JSON validation error.
 */
export const redirectRoutes: FastifyPluginAsync<{
  domains: DomainRegistry
  cache: LinkCache
  store: Store
  recorder: ClickRecorder
  redirects: RedirectCounters
  config: Pick<Config, 'redirectRateLimitPerMinute' | 'now'>
}> = async (app, services) => {
  const { domains, cache, store, recorder, redirects } = services
  const clock = services.config.now
  /** The language of a tenant host's own pages (not found, expired): the tenant's, else the phone's. */
  const languageOf = (reply: FastifyReply, domain: Domain) =>
    pageLanguageFor(reply, { tenant: domains.tenantLanguage(domain) })
  const tap: Tap = {
    at: 0,
    messageId: 0,
    linkId: 0,
    token: null,
    head: false,
    userAgent: undefined,
    address: undefined,
    clickId: null,
  }
  // Over the limit a tap still redirects (a person behind a busy carrier NAT is never
  // refused); it is only left uncounted. See docs/adr/0050.
  const perAddress =
    services.config.redirectRateLimitPerMinute === 0
      ? null
      : new AddressRateLimit(services.config.redirectRateLimitPerMinute)
  if (perAddress !== null) app.addHook('onClose', async () => perAddress.close())

  function answer(
    request: ShortLinkRequest,
    reply: FastifyReply,
    domain: Domain,
    target: RedirectTarget | null,
    token: string | null,
    started: number,
  ): void {
    if (target === null) {
      redirects.notFound++
      return sendNotFoundPage(reply, languageOf(reply, domain))
    }
    const now = clock()
    let clickId: string | null = null
    if (now < target.expiresAt) {
      clickId = clickIdFor(target)
      // Never 301: browsers cache it, and the next tap would never reach us.
      reply
        .header('cache-control', 'private, max-age=0')
        .header('x-robots-tag', 'noindex, nofollow')
        .redirect(locationFor(target, clickId), 302)
    } else if (domain.fallbackUrl !== null) {
      // Expired: the domain's fallback, without click id (it is not the landing page).
      reply
        .header('cache-control', 'private, max-age=0')
        .header('x-robots-tag', 'noindex, nofollow')
        .redirect(domain.fallbackUrl, 302)
    } else {
      sendExpiredPage(reply, languageOf(reply, domain))
    }
    redirects.redirected++
    // From the handler's start to the 302 written (Fastify has no logger, so no elapsedTime).
    redirects.latency.observe((performance.now() - started) / 1000)
    // Expired links still count: the tap happened, and stats say so.
    const address = request.ip
    if (perAddress !== null && !perAddress.allow(address)) {
      redirects.rateLimited++
      return
    }
    // The token is checked where the click is written; one that fails counts as an
    // anonymous click. The recorder copies the tap, so one object serves every request.
    tap.at = now
    tap.messageId = target.messageId
    tap.linkId = target.linkId
    tap.token = token
    tap.head = request.method === 'HEAD'
    tap.userAgent = request.headers['user-agent']
    tap.address = address
    tap.clickId = clickId
    recorder.record(tap)
  }

  function handler(request: ShortLinkRequest, reply: FastifyReply): Promise<void> | void {
    const started = performance.now()
    const domain = domains.lookup(request.host)
    if (domain === undefined) {
      redirects.unknownHost++
      return sendNotFoundPage(reply)
    }
    const path = parseShortPath(request.params.slug)
    if (path === null) {
      redirects.notFound++
      return sendNotFoundPage(reply, languageOf(reply, domain))
    }
    const cached = cache.get(domain.id, path.code)
    if (cached !== undefined) return answer(request, reply, domain, cached, path.token, started)
    return store.findLinkTarget(domain.id, path.code).then(
      (target) => answer(request, reply, domain, cache.set(domain.id, path.code, target), path.token, started),
      // The database is away (cached links still redirect): not a 404, since the
      // link may exist, and nothing is cached, so the next tap asks again.
      () => {
        redirects.unavailable++
        sendUnavailablePage(reply)
      },
    )
  }

  app.get('/:slug', { config: { hosts: 'links' } }, handler)
}
