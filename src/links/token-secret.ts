import { createHmac } from 'node:crypto'
import type { Store } from '../db/store.js'

/** Settings keys: the generated secret (when TOKEN_SECRET is unset), and the fingerprint of the secret in use. */
const SECRET_KEY = 'token_secret'
const FINGERPRINT_KEY = 'token_secret_fingerprint'

/** An instance whose TOKEN_SECRET is not the one the database's links were made with. */
export class TokenSecretMismatchError extends Error {
  constructor() {
    super(
      'TOKEN_SECRET is not the secret this database was created with: every link already sent would count ' +
        'as anonymous. Start with the original TOKEN_SECRET (every instance on one database needs the same one); ' +
        'see docs/adr/0074 to deliberately start over with a new secret',
    )
    this.name = 'TokenSecretMismatchError'
  }
}

/**
 * A keyed hash of the secret under itself: equal secrets give equal fingerprints, and
 * the fingerprint does not give the secret away (it is at least 32 characters).
 */
export function tokenSecretFingerprint(secret: string): string {
  return createHmac('sha256', secret).update('smslinks token secret fingerprint v1').digest('base64url')
}

/**
 * The secret recipient tokens are made with: TOKEN_SECRET, or one generated on the
 * first start and kept in the database. The database also keeps the fingerprint of the
 * first secret used with it; a different secret later (another TOKEN_SECRET, or none
 * where one was set) throws TokenSecretMismatchError instead of silently turning every
 * sent link anonymous. A database from before the fingerprint takes the fingerprint of
 * the generated secret it kept, if any, else of the secret of this start.
 */
export async function resolveTokenSecret(
  store: Pick<Store, 'getSetting' | 'setSettingOnce'>,
  configured: string | null,
  generate: () => string,
): Promise<string> {
  const stored = await store.getSetting(SECRET_KEY)
  if (stored !== null) await store.setSettingOnce(FINGERPRINT_KEY, tokenSecretFingerprint(stored))
  let secret = configured ?? stored
  if (secret === null) {
    // Made with a TOKEN_SECRET that is not given now: a generated one would not match either.
    if ((await store.getSetting(FINGERPRINT_KEY)) !== null) throw new TokenSecretMismatchError()
    secret = await store.setSettingOnce(SECRET_KEY, generate())
  }
  const fingerprint = tokenSecretFingerprint(secret)
  if ((await store.setSettingOnce(FINGERPRINT_KEY, fingerprint)) !== fingerprint) throw new TokenSecretMismatchError()
  return secret
}
