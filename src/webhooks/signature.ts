import { createHmac } from 'node:crypto'

/**
 * The `smslinks-signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
 * Signing the time with the body lets a receiver refuse old replays.
 */
export function signWebhookBody(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}
