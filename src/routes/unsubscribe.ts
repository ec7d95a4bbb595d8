import formbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { classifyClick } from '../clicks/classify.js'
import type { Store } from '../db/store.js'
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
import { requestLanguage } from './pages.js'

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

  app.get('/u/:slug', { config: { hosts: 'links' } }, async (request: UnsubscribeRequest, reply) => {
    const link = await resolveUnsubscribeLink(services, request.host, request.params.slug)
    if (link === null) return sendInvalidLinkPage(reply)
    const language = requestLanguage(reply)
    // HEAD, bots and previews are not visits; counting is a Map increment, written later.
    if (classifyClick(request.method === 'HEAD', request.headers['user-agent']).class === 'human') {
      services.unsubscribeVisits.record(link.target.messageId)
    }
    return sendUnsubscribePage(reply, 200, confirmationPage(link.target.tenantName, language), language)
  })

  app.post('/u/:slug', { config: { hosts: 'links' }, bodyLimit: 1024 }, async (request: UnsubscribeRequest, reply) => {
    const link = await resolveUnsubscribeLink(services, request.host, request.params.slug)
    if (link === null) return sendInvalidLinkPage(reply)
    const language = requestLanguage(reply)
    const body = request.body as Record<string, unknown> | null | undefined
    // A POST that did not come from the page's button (no hidden field) only shows the page.
    if (typeof body !== 'object' || body === null || body[CONFIRM_FIELD] !== CONFIRM_VALUE) {
      return sendUnsubscribePage(reply, 200, confirmationPage(link.target.tenantName, language), language)
    }
    if (!(await confirmUnsubscribe(services.store, link))) return sendInvalidLinkPage(reply)
    return sendUnsubscribePage(reply, 200, unsubscribedPage(link.target.tenantName, language), language)
  })
}
