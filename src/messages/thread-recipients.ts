import { Readable } from 'node:stream'
import type { Worker } from 'node:worker_threads'
import type { FastifyBaseLogger } from 'fastify'
import type { Message } from '../db/store.js'
import { startThread } from '../threads.js'
import { CheckedBody } from '../validation.js'
import type { RecipientsFormat } from './present.js'
import type { AnswerText, MessageResult, RecipientList } from './recipient-list.js'
import type { BodyKind, RecipientsReply, RecipientsRequest, RecipientsThreadData } from './recipients-thread.js'

/**
 * The thread's heap: a call of 100,000 ids of up to 128 characters parses into about
 * 30 MB, and a few large calls may run at once. The young generation is held to 16 MB
 * (V8's default here is three times that): the thread's garbage dies within a slice of
 * a call, and a young generation left full after a call stays resident until the
 * thread stops.
 */
const HEAP_LIMITS = { maxOldGenerationSizeMb: 384, maxYoungGenerationSizeMb: 16 }

/** A piece of an answer as the thread sent it, without a copy. */
const asBuffer = (chunk: Uint8Array) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

/** A request body the recipients thread parsed and checked: the call's fields, and its recipients there. */
export class ThreadBody extends CheckedBody {
  constructor(
    readonly fields: Record<string, unknown>,
    readonly recipients: RecipientList,
  ) {
    super()
  }
}

type Answer = Extract<
  RecipientsReply,
  { parsed: unknown } | { refused: unknown } | { recipientCount: unknown } | { chunk: unknown }
>

/**
 * The recipients thread (recipients-thread.ts), started at the first large call and
 * again after it stops. Large create and add-recipients calls hand it their bodies
 * (docs/adr/0087).
 */
export class RecipientsThread {
  /** Bodies the thread took. */
  taken = 0
  /** Calls whose recipients the thread holds: taken, not yet answered in full nor failed. */
  held = 0
  private worker: Worker | null = null
  private idleTimer: NodeJS.Timeout | null = null
  private readonly pending = new Map<number, { resolve: (reply: Answer) => void; reject: (err: Error) => void }>()
  private nextId = 1

  /**
   * `idleMs`: the thread stops once it has held no call for this long, and gives back
   * its heap (the ids and answers of the last large calls, until collected) and its
   * connection; the next large call starts it again.
   */
  constructor(
    private readonly data: RecipientsThreadData,
    private readonly log: FastifyBaseLogger,
    private readonly idleMs: number,
  ) {}

  /**
   * Hands a body to the thread. When it cannot take it (not JSON, or not valid for the
   * call), it hands the bytes back, for the caller to parse as any body.
   */
  async parse(body: Buffer, kind: BodyKind): Promise<{ taken: ThreadBody } | { bytes: Buffer }> {
    // Transferred, not copied: a body read whole has an ArrayBuffer of its own.
    const bytes =
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength
        ? (body.buffer as ArrayBuffer)
        : new Uint8Array(body).buffer
    const id = this.nextId++
    const reply = await this.request({ id, parse: bytes, kind }, [bytes])
    if ('refused' in reply) return { bytes: Buffer.from(reply.refused) }
    if (!('parsed' in reply)) throw new Error('the recipients thread answered a parse with something else')
    this.taken++
    const list = new ThreadRecipients(this, id, reply.parsed.count)
    return { taken: new ThreadBody(reply.parsed.fields, list) }
  }

  request(request: RecipientsRequest, transfer: ArrayBuffer[] = []): Promise<Answer> {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    this.idleTimer = null
    const worker = this.worker ?? this.spawn()
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject })
      worker.postMessage(request, transfer)
    })
  }

  /** A request without an answer; a failure shows in the job's next request. */
  post(request: RecipientsRequest, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(request, transfer)
  }

  newId(): number {
    return this.nextId++
  }

  /** A call let go of its recipients (ThreadRecipients); with none left, the idle clock starts. */
  ended(): void {
    this.held--
    this.stopWhenIdle()
  }

  async close(): Promise<void> {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    const worker = this.worker
    this.worker = null
    if (worker !== null) await worker.terminate()
  }

  private stopWhenIdle(): void {
    if (this.held > 0 || this.pending.size > 0 || this.worker === null || this.idleTimer !== null) return
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null
      if (this.held === 0 && this.pending.size === 0) void this.close()
    }, this.idleMs).unref()
  }

  private spawn(): Worker {
    const worker = startThread(import.meta.url, 'recipients-thread', this.data, HEAP_LIMITS)
    // The server keeps the process alive, not this thread.
    worker.unref()
    worker.on('message', (reply: RecipientsReply) => {
      const waiting = this.pending.get(reply.id)
      if (waiting === undefined) return
      this.pending.delete(reply.id)
      if ('error' in reply) waiting.reject(new Error(`recipients thread: ${reply.error}`))
      else waiting.resolve(reply)
      // After the caller's continuation has run: a parse answered is held by then.
      setImmediate(() => this.stopWhenIdle())
    })
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = null
      for (const waiting of this.pending.values()) waiting.reject(err)
      this.pending.clear()
    }
    worker.on('error', (err) => {
      this.log.error({ err }, 'the recipients thread failed; it starts again with the next large call')
      failAll(err)
    })
    worker.on('exit', (code) => failAll(new Error(`the recipients thread stopped (exit code ${code})`)))
    this.worker = worker
    return worker
  }
}

/** The recipients of a large call, held in the recipients thread under the job `job`. */
class ThreadRecipients implements RecipientList {
  private ended = false

  constructor(
    private readonly thread: RecipientsThread,
    private readonly job: number,
    readonly count: number,
  ) {
    thread.held++
  }

  /** The thread has let go of the job (its answer's last piece is read), or is told to now. */
  private end(tellThread: boolean): void {
    if (this.ended) return
    this.ended = true
    this.thread.ended()
    if (tellThread) this.thread.post({ id: 0, job: this.job, release: true })
  }

  /** Every id is stored by the thread, none with the message row. */
  async first(): Promise<string[]> {
    return []
  }

  async store(message: Message): Promise<number> {
    const reply = await this.thread.request({ id: this.thread.newId(), job: this.job, store: message })
    if (!('recipientCount' in reply)) throw new Error('the recipients thread answered a store with something else')
    return reply.recipientCount
  }

  async answer(result: MessageResult, format: RecipientsFormat): Promise<AnswerText> {
    const { message, domain } = result
    const first = await this.thread.request({
      id: this.thread.newId(),
      job: this.job,
      answer: { message, domain, format },
    })
    if (!('chunk' in first)) throw new Error('the recipients thread answered for an answer with something else')
    if (first.done) {
      this.end(false)
      return asBuffer(first.chunk)
    }
    // The rest is read piece by piece, as the client takes it: a slow reader holds one piece, not the answer.
    const next = () => this.thread.request({ id: this.thread.newId(), job: this.job, next: true })
    const end = () => this.end(false)
    const release = () => this.release()
    const stream = new Readable({
      read() {
        next()
          .then((reply) => {
            if (!('chunk' in reply)) throw new Error('the recipients thread answered for a piece with something else')
            if (reply.done) {
              end()
              this.push(null)
            } else this.push(asBuffer(reply.chunk))
          })
          .catch((err: Error) => this.destroy(err))
      },
      destroy(err, callback) {
        release()
        callback(err)
      },
    })
    stream.push(asBuffer(first.chunk))
    return stream
  }

  release(): void {
    this.end(true)
  }
}
