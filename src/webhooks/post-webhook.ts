import type { LookupFunction } from 'node:net'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { receiverAddress, type ReceiverPolicy } from './receiver-address.js'

export interface PostLimits {
  /** DNS, TCP and TLS together. */
  connectTimeoutMs: number
  /** From the start to the last byte of the answer read. */
  timeoutMs: number
  /** Bytes of the answer's body read at most. */
  responseMaxBytes: number
}

/** A delivery that got no usable answer; `message` is what the attempt log shows. */
export class DeliveryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DeliveryError'
  }
}

/**
 * POSTs one webhook body and resolves with the answer's status code. The receiver's
 * address is resolved and checked once (receiverAddress) and the connection is made
 * to exactly that address: a name whose DNS answer changes between the check and the
 * connection cannot slip a private address in. Host header and TLS server name stay
 * the URL's host. Redirects are not followed (a 3xx is just a status). Bounded: a
 * connect timeout, a total timeout, at most `responseMaxBytes` of the body read.
 */
export async function postWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  limits: PostLimits,
  policy: ReceiverPolicy,
  signal: AbortSignal,
): Promise<number> {
  const started = Date.now()
  const connectBy = started + limits.connectTimeoutMs
  const pinned = await within(receiverAddress(url, policy), limits.connectTimeoutMs, 'resolving the host')
  // Called by the socket instead of DNS: the checked address, and nothing else.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [pinned])
    else callback(null, pinned.address, pinned.family)
  }
  const secure = url.protocol === 'https:'
  return new Promise<number>((resolve, reject) => {
    let settled = false
    const finish = (error: Error | null, status?: number) => {
      if (settled) return
      settled = true
      clearTimeout(connectTimer)
      clearTimeout(totalTimer)
      signal.removeEventListener('abort', onAbort)
      request.destroy()
      if (error) reject(error)
      else resolve(status!)
    }
    const onAbort = () => finish(new DeliveryError('stopped'))
    const onResponse = (response: IncomingMessage) => {
      const status = response.statusCode ?? 0
      let read = 0
      response.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read >= limits.responseMaxBytes) finish(null, status)
      })
      response.on('end', () => finish(null, status))
      response.on('error', () => finish(null, status))
      if (limits.responseMaxBytes === 0) finish(null, status)
    }
    const request = (secure ? httpsRequest : httpRequest)(
      {
        protocol: url.protocol,
        host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup,
        agent: false,
        maxHeaderSize: 16_384,
      },
      onResponse,
    )
    const connectTimer = setTimeout(
      () => finish(new DeliveryError(`no connection within ${limits.connectTimeoutMs} ms`)),
      Math.max(0, connectBy - Date.now()),
    )
    const totalTimer = setTimeout(
      () => finish(new DeliveryError(`no answer within ${limits.timeoutMs} ms`)),
      Math.max(0, started + limits.timeoutMs - Date.now()),
    )
    request.on('socket', (socket) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer))
    })
    request.on('error', (err: NodeJS.ErrnoException) => finish(new DeliveryError(err.code ?? err.message)))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    request.end(body)
  })
}

/** `promise`, or a DeliveryError once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  // Still running when the time is up: its later failure is nobody's to handle.
  promise.catch(() => {})
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new DeliveryError(`no answer ${what} within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
