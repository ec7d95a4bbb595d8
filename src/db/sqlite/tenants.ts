import { cacheChangeRecorder, type RecordCacheChange } from './cache-changes.js'
import { retryingWhileBusy, type SqliteConnection } from './connection.js'
import type { SqliteDatabase } from '../open.js'
import { ConflictError, type ApiKeyOwner, type Domain, type PageText, type Tenant, type TenantStore } from '../store.js'

function prepare(db: SqliteDatabase) {
  return {
    getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
    insertSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    insertTenant: db.prepare('INSERT INTO tenants (public_id, name, created_at) VALUES (?, ?, ?)'),
    getTenant: db.prepare(
      'SELECT id, public_id AS publicId, name, created_at AS createdAt, language FROM tenants WHERE public_id = ?',
    ),
    countTenants: db.prepare('SELECT count(*) AS n FROM tenants'),
    getDomainByHost: db.prepare('SELECT id FROM domains WHERE host = ?'),
    insertDomain: db.prepare('INSERT INTO domains (tenant_id, host, base_url, created_at) VALUES (?, ?, ?, ?)'),
    listDomains: db.prepare(
      'SELECT id, tenant_id AS tenantId, host, base_url AS baseUrl, fallback_url AS fallbackUrl FROM domains ORDER BY id',
    ),
    getDomain: db.prepare(
      'SELECT id, tenant_id AS tenantId, host, base_url AS baseUrl, fallback_url AS fallbackUrl FROM domains WHERE id = ?',
    ),
    insertApiKey: db.prepare(
      'INSERT INTO api_keys (tenant_id, public_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    findApiKey: db.prepare(
      'SELECT id AS keyId, tenant_id AS tenantId FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL',
    ),
    // Revoking twice keeps the first time: a retried DELETE changes nothing.
    revokeApiKey: db.prepare(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND public_id = ?',
    ),
    endDashboardSession: db.prepare(
      'INSERT INTO dashboard_session_ends (session_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    forgetEndedSessions: db.prepare('DELETE FROM dashboard_session_ends WHERE expires_at <= ?'),
    dashboardSessionLive: db
      .prepare(
        `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM dashboard_session_ends WHERE session_id = ?)`,
      )
      .pluck(),
    listTenants: db.prepare(
      'SELECT id, public_id AS publicId, name, created_at AS createdAt, language FROM tenants ORDER BY id',
    ),
    setTenantLanguage: db.prepare('UPDATE tenants SET language = ? WHERE id = ?'),
    pageTexts: db.prepare('SELECT language, title, text FROM tenant_page_texts WHERE tenant_id = ? ORDER BY language'),
    upsertPageText: db.prepare(
      `INSERT INTO tenant_page_texts (tenant_id, language, title, text) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant_id, language) DO UPDATE SET title = excluded.title, text = excluded.text`,
    ),
    deletePageText: db.prepare('DELETE FROM tenant_page_texts WHERE tenant_id = ? AND language = ?'),
    allowedHosts: db.prepare('SELECT pattern FROM destination_hosts WHERE tenant_id = ? ORDER BY pattern').pluck(),
    deleteAllowedHosts: db.prepare('DELETE FROM destination_hosts WHERE tenant_id = ?'),
    insertAllowedHost: db.prepare(
      'INSERT INTO destination_hosts (tenant_id, pattern) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    setDomainFallback: db.prepare(
      `UPDATE domains SET fallback_url = ? WHERE tenant_id = ? AND host = ?
       RETURNING id, tenant_id AS tenantId, host, base_url AS baseUrl, fallback_url AS fallbackUrl`,
    ),
  }
}

/** Settings, tenants, their domains, API keys and destination allow-lists. */
export class SqliteTenants implements TenantStore {
  private readonly sql: ReturnType<typeof prepare>
  private readonly write: SqliteConnection['write']
  private readonly recordChange: RecordCacheChange

  constructor(connection: SqliteConnection) {
    this.sql = prepare(connection.db)
    this.write = connection.write
    this.recordChange = cacheChangeRecorder(connection.db)
  }

  async getSetting(key: string): Promise<string | null> {
    const row = this.sql.getSetting.get(key) as { value: string } | undefined
    return row?.value ?? null
  }

  async setSettingOnce(key: string, value: string): Promise<string> {
    this.sql.insertSetting.run(key, value)
    return (this.sql.getSetting.get(key) as { value: string }).value
  }

  async createTenant(publicId: string, name: string, now: number): Promise<Tenant> {
    const { lastInsertRowid } = this.sql.insertTenant.run(publicId, name, now)
    return { id: Number(lastInsertRowid), publicId, name, createdAt: now, language: null }
  }

  async getTenant(publicId: string): Promise<Tenant | null> {
    return (this.sql.getTenant.get(publicId) as Tenant | undefined) ?? null
  }

  async countTenants(): Promise<number> {
    return (this.sql.countTenants.get() as { n: number }).n
  }

  async listTenants(): Promise<Tenant[]> {
    return this.sql.listTenants.all() as Tenant[]
  }

  async addDomain(tenantId: number, host: string, baseUrl: string, now: number): Promise<Domain> {
    return this.write(() => {
      if (this.sql.getDomainByHost.get(host)) throw new ConflictError(`host ${host} already belongs to a tenant`)
      const id = Number(this.sql.insertDomain.run(tenantId, host, baseUrl, now).lastInsertRowid)
      this.recordChange('domain', id)
      return { id, tenantId, host, baseUrl, fallbackUrl: null }
    })
  }

  async listDomains(): Promise<Domain[]> {
    return this.sql.listDomains.all() as Domain[]
  }

  async getDomain(id: number): Promise<Domain | null> {
    return (this.sql.getDomain.get(id) as Domain | undefined) ?? null
  }

  async setDomainFallback(tenantId: number, host: string, fallbackUrl: string | null): Promise<Domain | null> {
    return this.write(() => {
      const domain = this.sql.setDomainFallback.get(fallbackUrl, tenantId, host) as Domain | undefined
      if (domain === undefined) return null
      this.recordChange('domain', domain.id)
      return domain
    })
  }

  async createApiKey(tenantId: number, publicId: string, name: string, keyHash: Buffer, now: number): Promise<void> {
    this.sql.insertApiKey.run(tenantId, publicId, name, keyHash, now)
  }

  async findApiKey(keyHash: Buffer): Promise<ApiKeyOwner | null> {
    return (this.sql.findApiKey.get(keyHash) as ApiKeyOwner | undefined) ?? null
  }

  async revokeApiKey(tenantId: number, keyPublicId: string, now: number): Promise<boolean> {
    return this.sql.revokeApiKey.run(now, tenantId, keyPublicId).changes === 1
  }

  async endDashboardSession(sessionId: string, expiresAt: number, now: number): Promise<void> {
    this.write(() => {
      this.sql.forgetEndedSessions.run(now)
      if (expiresAt > now) this.sql.endDashboardSession.run(sessionId, expiresAt)
    })
  }

  async dashboardSessionLive(sessionId: string, keyId: number): Promise<boolean> {
    return this.sql.dashboardSessionLive.get(keyId, sessionId) === 1
  }

  async allowedHosts(tenantId: number): Promise<string[]> {
    return this.sql.allowedHosts.all(tenantId) as string[]
  }

  async setAllowedHosts(tenantId: number, patterns: string[]): Promise<void> {
    this.write(() => {
      this.sql.deleteAllowedHosts.run(tenantId)
      for (const pattern of patterns) this.sql.insertAllowedHost.run(tenantId, pattern)
      this.recordChange('allowed_hosts', tenantId)
    })
  }

  async setTenantLanguage(tenantId: number, language: string | null): Promise<void> {
    this.write(() => {
      this.sql.setTenantLanguage.run(language, tenantId)
      this.recordChange('tenant', tenantId)
    })
  }

  async pageTexts(tenantId: number): Promise<PageText[]> {
    return this.sql.pageTexts.all(tenantId) as PageText[]
  }

  async setPageText(tenantId: number, language: string, text: { title: string; text: string } | null): Promise<void> {
    if (text === null) this.sql.deletePageText.run(tenantId, language)
    else this.sql.upsertPageText.run(tenantId, language, text.title, text.text)
  }
}

retryingWhileBusy(SqliteTenants)
