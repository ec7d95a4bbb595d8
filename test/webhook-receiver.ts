import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { once } from 'node:events'
import type { Test } from 'tap'

export interface Received {
  headers: IncomingHttpHeaders
  body: string
  status: number
}

/**
 * A real HTTP endpoint on 127.0.0.1 that records every request and answers with
 * whatever `answer` says for it (a status code); closed when the test ends.
 */
export async function startReceiver(t: Test, answer: (eventId: string, attemptOfEvent: number) => number) {
  const received: Received[] = []
  const attempts = new Map<string, number>()
  const server = createServer((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      const eventId = String(request.headers['smslinks-event-id'])
      const attempt = (attempts.get(eventId) ?? 0) + 1
      attempts.set(eventId, attempt)
      const status = answer(eventId, attempt)
      received.push({ headers: request.headers, body, status })
      response.writeHead(status).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/hooks`, received }
}

/** Checks `smslinks-signature` the way a receiver should: HMAC over "t.body" with the secret. */
export function signatureIsValid(secret: string, header: string | string[] | undefined, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header))
  if (!match) return false
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest()
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))
}

/** Waits until the condition holds, checking every 20 ms; fails the test after `ms`. */
export async function eventually(
  t: Test,
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const until = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > until) {
      t.fail(`timed out waiting: ${what}`)
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Backoff fast enough for a test: retries within tens of milliseconds. */
export const FAST_WEBHOOKS = {
  WEBHOOK_POLL_INTERVAL_MS: '10',
  WEBHOOK_RETRY_BASE_MS: '10',
  WEBHOOK_RETRY_MAX_MS: '40',
}
