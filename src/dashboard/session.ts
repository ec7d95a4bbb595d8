import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** What a signed-in dashboard visitor is: whose data, through which API key, until when. */
export interface DashboardSession {
  /** Random id; sign-out records it as ended. */
  id: string
  tenantId: number
  keyId: number
  expiresAt: number
}

export const SESSION_COOKIE = 'smslinks_session'

/**
 * Dashboard sessions as signed cookies (docs/adr/0075): the cookie holds the session
 * itself, HMAC-SHA256-signed under a key derived from the service's secret, so any
 * instance holding the secret can check it without a shared session store. Only
 * sign-outs are stored (Store.endDashboardSession), until the session would have
 * expired anyway.
 */
export class SessionCookies {
  private readonly key: Buffer

  constructor(secret: string) {
    // A key of its own: a cookie's MAC can never be mistaken for a token's.
    this.key = createHmac('sha256', secret).update('smslinks dashboard session v1').digest()
  }

  /** A new session for this key, expiring `lifetimeMs` from `now`, and its cookie value. */
  issue(
    tenantId: number,
    keyId: number,
    now: number,
    lifetimeMs: number,
  ): { session: DashboardSession; value: string } {
    const session = { id: randomBytes(16).toString('base64url'), tenantId, keyId, expiresAt: now + lifetimeMs }
    const body = `${session.id}.${tenantId}.${keyId}.${session.expiresAt}`
    return { session, value: `${body}.${this.mac(body)}` }
  }

  /** The session a cookie value holds, when its signature is ours and it has not expired; null otherwise. */
  read(value: string | undefined, now: number): DashboardSession | null {
    if (value === undefined || value.length > 200) return null
    const cut = value.lastIndexOf('.')
    if (cut === -1) return null
    const body = value.slice(0, cut)
    const sent = Buffer.from(value.slice(cut + 1), 'base64url')
    const expected = Buffer.from(this.mac(body), 'base64url')
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return null
    const [id, tenantId, keyId, expiresAt] = body.split('.')
    const session = { id: id!, tenantId: Number(tenantId), keyId: Number(keyId), expiresAt: Number(expiresAt) }
    return session.expiresAt > now ? session : null
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url')
  }
}
