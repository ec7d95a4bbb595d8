import formbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { classifyClick } from '../clicks/classify.js'
import type { Store, UnsubscribeTarget } from '../db/store.js'
import type { UnsubscribeTokens } from '../links/tokens.js'
import type { DomainRegistry } from '../tenants/domain-registry.js'
import type { UnsubscribeVisitCounter } from '../unsubscribe/visit-counter.js'
import { confirmUnsubscribe, resolveUnsubscribeLink } from '../unsubscribe/unsubscribe.js'
import {
  confirmationPage,
  CONFIRM_FIELD,
  CONFIRM_VALUE,
  sendInvalidLinkPage,
  UNSUBSCRIBE_PAGE_HELMET,
  sendUnsubscribePage,
  unsubscribedPage,
} from './unsubscribe-pages.js'
import { pageLanguageFor } from './pages.js'

type UnsubscribeRequest = FastifyRequest<{ Params: { slug: string } }>

/**
 * Recipients' unsubscribe pages, `/u/{code}-{token}` on a tenant's host. A GET (what
 * link scanners and previews do) only shows the page; the POST its button sends is
 * the only thing that opts anyone out. No params schema: every bad link gets a page a
 * person can read, never a JSON error.
 */
export const unsubscribeRoutes: FastifyPluginAsync<{
  domains: DomainRegistry
  store: Store
  unsubscribeTokens: UnsubscribeTokens
  unsubscribeVisits: UnsubscribeVisitCounter
}> = async (app, services) => {
  // Form bodies are parsed here only; the API stays JSON.
  await app.register(formbody, { bodyLimit: 1024 })
  // Security headers for these pages only: registered inside this plugin, helmet's
  // hooks never run on the redirect or the JSON API.
  await app.register(helmet, UNSUBSCRIBE_PAGE_HELMET)

  /** A link that does not work, in the language of the host's tenant when the host is known. */
  const invalidLink = (request: UnsubscribeRequest, reply: FastifyReply) => {
    const domain = services.domains.lookup(request.host)
    const tenant = domain && services.domains.tenantLanguage(domain)
    return sendInvalidLinkPage(reply, pageLanguageFor(reply, { tenant }))
  }

  /** The confirmation page in the message's language, with the tenant's own wording for it if any. */
  const confirmation = async (reply: FastifyReply, target: UnsubscribeTarget) => {
    const language = pageLanguageFor(reply, { message: target.messageLanguage, tenant: target.tenantLanguage })
    const own = (await services.store.pageTexts(target.tenantId)).find((text) => text.language === language)
    return sendUnsubscribePage(reply, 200, confirmationPage(target.tenantName, language, own ?? null), language)
  }

  app.get('/u/:slug', { config: { hosts: 'links' } }, async (request: UnsubscribeRequest, reply) => {
    const link = await resolveUnsubscribeLink(services, request.host, request.params.slug)
    if (link === null) return invalidLink(request, reply)
    // HEAD, bots and previews are not visits; counting is a Map increment, written later.
    if (classifyClick(request.method === 'HEAD', request.headers['user-agent']).class === 'human') {
      services.unsubscribeVisits.record(link.target.messageId)
    }
    return confirmation(reply, link.target)
  })

  app.post('/u/:slug', { config: { hosts: 'links' }, bodyLimit: 1024 }, async (request: UnsubscribeRequest, reply) => {
    const link = await resolveUnsubscribeLink(services, request.host, request.params.slug)
    if (link === null) return invalidLink(request, reply)
    const body = request.body as Record<string, unknown> | null | undefined
    // A POST that did not come from the page's button (no hidden field) only shows the page.
    if (typeof body !== 'object' || body === null || body[CONFIRM_FIELD] !== CONFIRM_VALUE) {
      return confirmation(reply, link.target)
    }
    if (!(await confirmUnsubscribe(services.store, link))) return invalidLink(request, reply)
    const { target } = link
    const language = pageLanguageFor(reply, { message: target.messageLanguage, tenant: target.tenantLanguage })
    return sendUnsubscribePage(reply, 200, unsubscribedPage(target.tenantName, language), language)
  })
}
