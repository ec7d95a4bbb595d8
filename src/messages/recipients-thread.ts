/**
 * The recipients thread (a worker_threads entry, started by RecipientsThread). A large
 * create or add-recipients call hands it the request body as bytes: it parses and
 * validates the body, holds the recipient ids, stores them on its own connection to
 * the database (the SQLite file, or a small pool of its own to PostgreSQL) once the
 * event loop has stored the message row, and writes the answer (tokens, links, texts,
 * segments) in pieces. The event loop's heap never holds 100,000 ids or their answer,
 * and it runs none of their inserts (docs/adr/0087).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { parse as secureJsonParse } from 'secure-json-parse'
import type { ValidateFunction } from 'ajv'
import { SqliteStore } from '../db/sqlite/index.js'
import { connectPostgresStore } from '../db/postgres/index.js'
import type { Domain, Message, RecipientIndex, Store } from '../db/store.js'
import { SuppressionKeys } from '../recipients/suppression.js'
import { storeRecipients } from './store-recipients.js'
import { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
import { AddRecipients, CreateMessage } from '../routes/message-bodies.js'
import { lowerThreadPriority } from '../threads.js'
import { createAjv } from '../validation.js'
import { messageWithRecipientsText, type RecipientsFormat } from './present.js'

export interface RecipientsThreadData {
  databasePath: string
  /** PostgreSQL when set (DATABASE_URL), already migrated by the service's own store. */
  databaseUrl: string | null
  /** The token secret: the answer's tokens and opt-outs' suppression keys are made here. */
  secret: string
  /** RECIPIENTS_THREAD_NICE: this thread's nice value. */
  nice: number
}

/** Which call's body: POST /v1/messages, or POST /v1/messages/{id}/recipients. */
export type BodyKind = 'create' | 'add'

/** A job is known by the id of the request that parsed its body. */
export type RecipientsRequest =
  | { id: number; parse: ArrayBuffer; kind: BodyKind }
  | { id: number; job: number; store: Message }
  | { id: number; job: number; answer: { message: Message; domain: Domain; format: RecipientsFormat } }
  | { id: number; job: number; next: true }
  | { id: number; job: number; release: true }

/**
 * `refused` hands back a body the thread could not take (not JSON, or not valid for
 * its call): the event loop parses it as any body, and answers the error it gives.
 */
export type RecipientsReply =
  | { id: number; parsed: { fields: Record<string, unknown>; count: number } }
  | { id: number; refused: ArrayBuffer }
  | { id: number; recipientCount: number }
  | { id: number; chunk: Uint8Array; done: boolean }
  | { id: number; error: string }

interface Job {
  ids: string[]
  /** What the store made of the ids, in their order, and which the tenant has opted out. */
  recipients: RecipientIndex[]
  optedOut: Set<string>
  pieces: AsyncIterator<string> | null
}

const port = parentPort
if (port === null) throw new Error('recipients-thread.ts runs as a worker thread only')
const data = workerData as RecipientsThreadData
lowerThreadPriority(data.nice)
const tokens = new RecipientTokens(data.secret)
const unsubscribeTokens = new UnsubscribeTokens(data.secret)
const suppressionKeys = new SuppressionKeys(data.secret)
/**
 * Connections of the thread's PostgreSQL pool: a few large calls may store their
 * recipients at once. On SQLite, the thread waits for the write lock (busy_timeout)
 * where the event loop would retry: it has nothing else to run meanwhile.
 */
const POOL_CONNECTIONS = 2
const PAGE_CACHE_MIB = 8
const store: Store =
  data.databaseUrl === null
    ? SqliteStore.open(data.databasePath, { cacheMiB: PAGE_CACHE_MIB })
    : connectPostgresStore(data.databaseUrl, { maxConnections: POOL_CONNECTIONS })
const ajv = createAjv('body')
const validators: Record<BodyKind, ValidateFunction> = {
  create: ajv.compile(CreateMessage),
  add: ajv.compile(AddRecipients),
}
const jobs = new Map<number, Job>()
const decoder = new TextDecoder()
const encoder = new TextEncoder()

function reply(message: RecipientsReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer)
}

/** Parses and checks a body as Fastify's JSON parser and the route's schema would. */
function parse(id: number, bytes: ArrayBuffer, kind: BodyKind): void {
  let body: unknown
  try {
    body = secureJsonParse(decoder.decode(bytes), { protoAction: 'error', constructorAction: 'error' })
  } catch {
    return reply({ id, refused: bytes }, [bytes])
  }
  if (!validators[kind](body)) return reply({ id, refused: bytes }, [bytes])
  const { recipients, ...fields } = body as { recipients: string[] }
  const ids = [...new Set(recipients)]
  jobs.set(id, { ids, recipients: [], optedOut: new Set(), pieces: null })
  reply({ id, parsed: { fields, count: ids.length } })
}

/** The next piece of a job's answer; the last one ends the job. */
async function next(id: number, jobId: number, job: Job): Promise<void> {
  const piece = await job.pieces!.next()
  if (piece.done === true) {
    jobs.delete(jobId)
    return reply({ id, chunk: new Uint8Array(0), done: true })
  }
  const chunk = encoder.encode(piece.value)
  reply({ id, chunk, done: false }, [chunk.buffer as ArrayBuffer])
}

async function answer(
  id: number,
  jobId: number,
  job: Job,
  request: { message: Message; domain: Domain; format: RecipientsFormat },
) {
  const { recipients, optedOut } = job
  const text = messageWithRecipientsText(
    { message: request.message, domain: request.domain, recipients, optedOut },
    tokens,
    unsubscribeTokens,
    request.format,
  )
  if (typeof text === 'string') {
    jobs.delete(jobId)
    const chunk = encoder.encode(text)
    return reply({ id, chunk, done: true }, [chunk.buffer as ArrayBuffer])
  }
  job.pieces = text
  return next(id, jobId, job)
}

async function handle(request: RecipientsRequest): Promise<void> {
  if ('parse' in request) return parse(request.id, request.parse, request.kind)
  const job = jobs.get(request.job)
  if ('release' in request) {
    jobs.delete(request.job)
    return
  }
  if (job === undefined) throw new Error(`no job ${request.job} in the recipients thread`)
  if ('store' in request) {
    const recipientCount = await storeRecipients(
      { store, suppressionKeys },
      request.store,
      job.ids,
      [],
      (_from, recipients, optedOut) => {
        for (const recipient of recipients) job.recipients.push(recipient)
        for (const recipientId of optedOut) job.optedOut.add(recipientId)
      },
    )
    return reply({ id: request.id, recipientCount })
  }
  if ('answer' in request) return answer(request.id, request.job, job, request.answer)
  return next(request.id, request.job, job)
}

port.on('message', (request: RecipientsRequest) => {
  handle(request).catch((err: unknown) =>
    reply({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
  )
})
