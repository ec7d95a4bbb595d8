import { createHmac } from 'node:crypto'

/**
 * The `smslinks-signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
 * Signing the time with the body lets a receiver refuse old replays.
 */
export function signWebhookBody(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}

/**
 * The Standard Webhooks headers (standardwebhooks.com), which receivers verify with an
 * off-the-shelf library: `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." +
 * timestamp + "." + body)>`, the key being the base64 after `whsec_` in the secret.
 */
export function standardWebhookHeaders(
  secret: string,
  eventId: string,
  body: string,
  unixSeconds: number,
): Record<string, string> {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
  const mac = createHmac('sha256', key).update(`${eventId}.${unixSeconds}.${body}`).digest('base64')
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(unixSeconds),
    'webhook-signature': `v1,${mac}`,
  }
}
