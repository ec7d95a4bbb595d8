import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import type { Config } from '../config.js'
import { sendNotFoundPage } from './pages.js'

/**
 * Which hosts a route answers on, declared by the route as `config: { hosts }`:
 * - `api`: only the service's own hosts (PUBLIC_URL's host name and API_HOSTS): the
 *   API, its docs, readiness, metrics. The default: a route that declares nothing
 *   never appears on a tenant's domain.
 * - `links`: every host; the handler itself resolves the Host against the tenants'
 *   domains (short links, unsubscribe pages, robots.txt).
 * - `any`: every host (liveness).
 * Elsewhere an `api` route answers what a mistyped short link gets: the 404 page.
 */
export type HostKind = 'api' | 'links' | 'any'

const HOST_KINDS: readonly HostKind[] = ['api', 'links', 'any']

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which hosts answer this route; see src/routes/host-kinds.ts. Unset: `api`. */
    hosts?: HostKind
  }
}

/** The name part of a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), as sent. */
function hostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end === -1 ? host : host.slice(0, end + 1)
  }
  const colon = host.indexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

/**
 * The service's own host names: PUBLIC_URL's and API_HOSTS. A Host header matches
 * case-insensitively and whatever its port (`localhost:3000`, `localhost:80` and
 * `LOCALHOST` are all `localhost`).
 */
export class OwnHosts {
  private readonly names: ReadonlySet<string>

  constructor(config: Pick<Config, 'publicUrl' | 'apiHosts'>) {
    this.names = new Set([config.publicUrl.hostname, ...config.apiHosts])
  }

  has(host: string): boolean {
    // A bare lower-case name (what a proxy in front usually sends) needs no copy.
    return this.names.has(host) || this.names.has(hostName(host).toLowerCase())
  }
}

/**
 * Enforces every route's `config.hosts`. Install before any route is registered: the
 * onRoute hook checks each declaration, and the onRequest hook, added here at the
 * root, runs before the routes' own hooks (API key checks, rate limits), so an `api`
 * route on another host is the 404 page before anything else happens. That includes
 * requests no route matches: on a host that is not the service's own they get the
 * 404 page too, never a JSON error.
 *
 * The short-link routes pay one WeakMap lookup: Fastify binds a hook's `this` to the
 * plugin instance the route was registered in, and an instance whose routes all
 * answer on every host is remembered as such. Any other request reads its route's
 * declaration, which costs an object Fastify builds for `request.routeOptions`.
 */
export function installHostKinds(app: FastifyInstance, own: OwnHosts): void {
  const allOpen = new WeakMap<object, boolean>()
  app.addHook('onRoute', function (this: FastifyInstance, route: RouteOptions) {
    const kind = route.config?.hosts ?? 'api'
    if (!HOST_KINDS.includes(kind)) {
      throw new Error(`${route.method} ${route.url}: config.hosts must be one of ${HOST_KINDS.join(', ')}`)
    }
    allOpen.set(this, kind !== 'api' && allOpen.get(this) !== false)
  })
  app.addHook(
    'onRequest',
    function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      if (allOpen.get(this) === true) return done()
      const kind = request.routeOptions.config.hosts ?? 'api'
      if (kind !== 'api' || own.has(request.host)) return done()
      sendNotFoundPage(reply)
    },
  )
}
