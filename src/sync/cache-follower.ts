import type { FastifyBaseLogger } from 'fastify'
import type { CacheChange, CacheChangeWatch, Store } from '../db/store.js'
import type { LinkCache } from '../links/link-cache.js'
import type { AllowedHosts } from '../tenants/allowed-hosts.js'
import type { DomainRegistry } from '../tenants/domain-registry.js'

/** What the follower keeps current: the instance's in-memory caches, and the queue of taps it has not written. */
export interface FollowedCaches {
  domains: DomainRegistry
  links: LinkCache
  allowedHosts: AllowedHosts
  /** Writes the taps this instance holds, so that an erasure made elsewhere can reach them. */
  flushClicks(): Promise<void>
}

/**
 * Applies the change feed (Store.watchCacheChanges) to this instance's caches, so that a
 * change made through another instance or the CLI takes effect here within a second:
 * each change reloads or drops exactly the entries it names; a lost feed (a reconnect)
 * reloads the domains and drops everything else. Changes are applied one after another,
 * in the order they came; the redirect reads the same structures as before, at the same cost.
 */
export class CacheFollower {
  private watch: CacheChangeWatch | null = null
  private applying: Promise<void> = Promise.resolve()
  /** Changes applied since start (metrics). */
  applied = 0
  /** Times every cache was read again because the feed lost track (metrics). */
  reloads = 0

  constructor(
    private readonly store: Store,
    private readonly caches: FollowedCaches,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * Resolves once changes committed from now on are sure to reach this instance. The
   * caches are read again then: a change committed after they were first loaded but
   * before the watch began would otherwise be missed.
   */
  async start(): Promise<void> {
    if (this.watch !== null) return
    this.watch = this.store.watchCacheChanges({
      changes: (changes) => this.enqueue(() => this.apply(changes)),
      lost: () => this.enqueue(() => this.reloadAll()),
    })
    await this.watch.started
    this.enqueue(() => this.reloadAll())
    await this.applying
  }

  async stop(): Promise<void> {
    await this.watch?.close()
    this.watch = null
    await this.applying
  }

  private enqueue(work: () => Promise<void>): void {
    this.applying = this.applying.then(work).catch(async (err: unknown) => {
      this.log.error({ err }, 'applying a cache change failed; reloading every cache')
      await this.reloadAll().catch((error: unknown) => this.log.error({ err: error }, 'reloading the caches failed'))
    })
  }

  private async apply(changes: CacheChange[]): Promise<void> {
    const { domains, links, allowedHosts } = this.caches
    let erased: Array<[number, number]> | null = null
    for (const change of changes) {
      this.applied++
      switch (change.kind) {
        case 'domain': {
          const domain = await this.store.getDomain(Number(change.key))
          if (domain !== null) domains.add(domain)
          break
        }
        case 'tenant': {
          // A tenant's page language, which the not-found and expired pages of its hosts speak.
          const tenant = (await this.store.listTenants()).find((t) => t.id === Number(change.key))
          if (tenant !== undefined) domains.setTenantLanguage(tenant.id, tenant.language)
          break
        }
        case 'link': {
          const slash = change.key.indexOf('/')
          links.forget(Number(change.key.slice(0, slash)), change.key.slice(slash + 1))
          break
        }
        case 'allowed_hosts':
          allowedHosts.forget(Number(change.key))
          break
        case 'recipient': {
          const [messageId, recipientIdx] = change.key.split('/').map(Number) as [number, number]
          ;(erased ??= []).push([messageId, recipientIdx])
          break
        }
        case 'webhooks':
          // Subscriptions are the store's own to follow (the SQLite store keeps them in memory).
          break
      }
    }
    if (erased === null) return
    // Taps of an erased recipient that this instance still held would be written with
    // their user agent and network: written now, then scrubbed like the erasure did.
    await this.caches.flushClicks()
    for (const [messageId, recipientIdx] of erased) await this.store.scrubRecipientClicks(messageId, recipientIdx)
  }

  private async reloadAll(): Promise<void> {
    this.reloads++
    this.caches.domains.replaceAll(await this.store.listDomains())
    for (const tenant of await this.store.listTenants())
      this.caches.domains.setTenantLanguage(tenant.id, tenant.language)
    this.caches.links.clear()
    this.caches.allowedHosts.clear()
  }
}
