import type pg from 'pg'
import { ConflictError, type ApiKeyOwner, type Domain, type PageText, type Tenant } from '../store.js'
import { recordCacheChanges } from './cache-changes.js'
import { transaction } from './pool.js'

const DOMAIN_COLUMNS = 'id, tenant_id AS "tenantId", host, base_url AS "baseUrl", fallback_url AS "fallbackUrl"'
const TENANT_COLUMNS = 'id, public_id AS "publicId", name, created_at AS "createdAt", language'

/** Settings, tenants, domains, API keys and allow-lists. */
export class PostgresTenants {
  constructor(private readonly pool: pg.Pool) {}

  async getSetting(key: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key])
    return rows[0]?.value ?? null
  }

  async setSettingOnce(key: string, value: string): Promise<string> {
    // The insert and the read in one statement: two instances racing both read the winner.
    const { rows } = await this.pool.query<{ value: string }>(
      `WITH ins AS (INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
       SELECT value FROM ins UNION ALL SELECT value FROM settings WHERE key = $1`,
      [key, value],
    )
    if (rows[0] !== undefined) return rows[0].value
    // The other insert committed after this statement's snapshot was taken: read again.
    return (await this.getSetting(key)) as string
  }

  async checkWritable(): Promise<void> {
    await this.pool.query(
      `INSERT INTO settings (key, value) VALUES ('readiness_probe', $1)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [String(Date.now())],
    )
  }

  async createTenant(publicId: string, name: string, now: number): Promise<Tenant> {
    const { rows } = await this.pool.query<Tenant>(
      `INSERT INTO tenants (public_id, name, created_at) VALUES ($1, $2, $3) RETURNING ${TENANT_COLUMNS}`,
      [publicId, name, now],
    )
    return rows[0]!
  }

  async getTenant(publicId: string): Promise<Tenant | null> {
    const { rows } = await this.pool.query<Tenant>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE public_id = $1`, [
      publicId,
    ])
    return rows[0] ?? null
  }

  async countTenants(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM tenants')
    return rows[0]!.n
  }

  async listTenants(): Promise<Tenant[]> {
    return (await this.pool.query<Tenant>(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY id`)).rows
  }

  async addDomain(tenantId: number, host: string, baseUrl: string, now: number): Promise<Domain> {
    // One statement, so the change is recorded in the insert's transaction.
    const { rows } = await this.pool.query<Domain>(
      `WITH d AS (INSERT INTO domains (tenant_id, host, base_url, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (host) DO NOTHING RETURNING *),
       c AS (INSERT INTO cache_changes (kind, key, at) SELECT 'domain', id::text, $5 FROM d)
       SELECT ${DOMAIN_COLUMNS} FROM d`,
      [tenantId, host, baseUrl, now, Date.now()],
    )
    if (rows[0] === undefined) throw new ConflictError(`host ${host} already belongs to a tenant`)
    return rows[0]
  }

  async listDomains(): Promise<Domain[]> {
    return (await this.pool.query<Domain>(`SELECT ${DOMAIN_COLUMNS} FROM domains ORDER BY id`)).rows
  }

  async getDomain(id: number): Promise<Domain | null> {
    const { rows } = await this.pool.query<Domain>(`SELECT ${DOMAIN_COLUMNS} FROM domains WHERE id = $1`, [id])
    return rows[0] ?? null
  }

  async setDomainFallback(tenantId: number, host: string, fallbackUrl: string | null): Promise<Domain | null> {
    const { rows } = await this.pool.query<Domain>(
      `WITH d AS (UPDATE domains SET fallback_url = $1 WHERE tenant_id = $2 AND host = $3 RETURNING *),
       c AS (INSERT INTO cache_changes (kind, key, at) SELECT 'domain', id::text, $4 FROM d)
       SELECT ${DOMAIN_COLUMNS} FROM d`,
      [fallbackUrl, tenantId, host, Date.now()],
    )
    return rows[0] ?? null
  }

  async createApiKey(tenantId: number, publicId: string, name: string, keyHash: Buffer, now: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO api_keys (tenant_id, public_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, publicId, name, keyHash, now],
    )
  }

  async findApiKey(keyHash: Buffer): Promise<ApiKeyOwner | null> {
    const { rows } = await this.pool.query<ApiKeyOwner>({
      name: 'smslinks-find-api-key',
      text: 'SELECT id AS "keyId", tenant_id AS "tenantId" FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      values: [keyHash],
    })
    return rows[0] ?? null
  }

  async revokeApiKey(tenantId: number, keyPublicId: string, now: number): Promise<boolean> {
    // Revoking twice keeps the first time: a retried DELETE changes nothing.
    const { rowCount } = await this.pool.query(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE tenant_id = $2 AND public_id = $3',
      [now, tenantId, keyPublicId],
    )
    return rowCount === 1
  }

  async endDashboardSession(sessionId: string, expiresAt: number, now: number): Promise<void> {
    await transaction(this.pool, async (client) => {
      await client.query('DELETE FROM dashboard_session_ends WHERE expires_at <= $1', [now])
      if (expiresAt > now) {
        await client.query(
          'INSERT INTO dashboard_session_ends (session_id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [sessionId, expiresAt],
        )
      }
    })
  }

  async dashboardSessionLive(sessionId: string, keyId: number): Promise<boolean> {
    const { rows } = await this.pool.query<{ live: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1 AND revoked_at IS NULL)
         AND NOT EXISTS (SELECT 1 FROM dashboard_session_ends WHERE session_id = $2) AS live`,
      [keyId, sessionId],
    )
    return rows[0]!.live
  }

  async allowedHosts(tenantId: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ pattern: string }>(
      'SELECT pattern FROM destination_hosts WHERE tenant_id = $1 ORDER BY pattern',
      [tenantId],
    )
    return rows.map((row) => row.pattern)
  }

  async setAllowedHosts(tenantId: number, patterns: string[]): Promise<void> {
    await transaction(this.pool, async (client) => {
      await client.query('DELETE FROM destination_hosts WHERE tenant_id = $1', [tenantId])
      await client.query(
        'INSERT INTO destination_hosts (tenant_id, pattern) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
        [tenantId, patterns],
      )
      await recordCacheChanges(client, 'allowed_hosts', [tenantId])
    })
  }

  async setTenantLanguage(tenantId: number, language: string | null): Promise<void> {
    await transaction(this.pool, async (client) => {
      await client.query('UPDATE tenants SET language = $1 WHERE id = $2', [language, tenantId])
      await recordCacheChanges(client, 'tenant', [tenantId])
    })
  }

  async pageTexts(tenantId: number): Promise<PageText[]> {
    const { rows } = await this.pool.query<PageText>(
      'SELECT language, title, text FROM tenant_page_texts WHERE tenant_id = $1 ORDER BY language COLLATE "C"',
      [tenantId],
    )
    return rows
  }

  async setPageText(tenantId: number, language: string, text: { title: string; text: string } | null): Promise<void> {
    if (text === null) {
      await this.pool.query('DELETE FROM tenant_page_texts WHERE tenant_id = $1 AND language = $2', [
        tenantId,
        language,
      ])
      return
    }
    await this.pool.query(
      `INSERT INTO tenant_page_texts (tenant_id, language, title, text) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, language) DO UPDATE SET title = excluded.title, text = excluded.text`,
      [tenantId, language, text.title, text.text],
    )
  }
}
