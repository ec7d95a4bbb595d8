import { request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import {
  bearer,
  createTenant,
  json,
  startApp,
  tempDatabasePath,
  withEachBackend,
  type StartOptions,
} from '../helpers.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { scrape } from '../fixtures/metrics.js'
import { eventually } from '../fixtures/webhook-receiver.js'

// Large create and add-recipients calls are parsed, kept and answered by the recipients
// thread; small ones on the event loop. Two instances on one database, one sending every
// such body to the thread and one none, answer the same call alike.

const ids = (count: number, prefix = 'cust') => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)

async function twoPaths(t: Test, backend: 'sqlite' | 'postgres') {
  const database: StartOptions =
    backend === 'sqlite' ? { databasePath: tempDatabasePath(t) } : { databaseUrl: await postgresDatabase(t) }
  const thread = await startApp(t, { ...database, env: { RECIPIENTS_THREAD_MIN_BYTES: '1' } })
  const { key } = await createTenant(thread)
  // Started after the tenant exists: it reads the domain at start.
  const loop = await startApp(t, { ...database, env: { RECIPIENTS_THREAD_MIN_BYTES: '0' } })
  return { thread, loop, key }
}

const call = (app: FastifyInstance, key: string, url: string, payload: string | object, ndjson = false) =>
  app.inject({
    method: 'POST',
    url,
    headers: {
      ...bearer(key),
      'content-type': 'application/json',
      ...(ndjson ? { accept: 'application/x-ndjson' } : {}),
    },
    payload,
  })

const threadBodies = async (app: FastifyInstance) => (await scrape(app)).get('smslinks_recipients_thread_bodies_total')
const threadCalls = async (app: FastifyInstance) => (await scrape(app)).get('smslinks_recipients_thread_calls')

withEachBackend(t, (t) => {
  t.test('a call answered by the thread is the answer the event loop gives, byte for byte', async (t) => {
    const { thread, loop, key } = await twoPaths(t, t.context.backend)
    // An opted-out recipient is flagged alike on both paths.
    const optOut = await thread.inject({
      method: 'POST',
      url: '/v1/optouts',
      headers: bearer(key),
      payload: { recipient: 'cust-2', source: 'reply', at: new Date().toISOString() },
    })
    t.equal(optOut.statusCode, 201)
    for (const ndjson of [false, true]) {
      // 3 recipients: one piece; 2,500: streamed, 1,000 recipients a piece.
      for (const count of [3, 2_500]) {
        const body = {
          externalId: `send-${count}-${ndjson}`,
          text: 'Sale -30%: https://shop.dk/sale and stores at shop.dk/stores {unsubscribe}',
          stripScheme: true,
          recipients: [...ids(count), 'cust-0'],
        }
        const before = await threadBodies(thread)
        const created = await call(thread, key, '/v1/messages', body, ndjson)
        t.equal(created.statusCode, 201)
        t.equal(await threadBodies(thread), before! + 1, 'the thread took the body')
        // The same call again, on the other instance: the same message, nothing new.
        const again = await call(loop, key, '/v1/messages', body, ndjson)
        t.equal(again.statusCode, 200)
        t.equal(again.headers['content-type'], created.headers['content-type'])
        t.equal(again.body, created.body, `${count} recipients${ndjson ? ', NDJSON' : ''}: the same answer`)
        const first = ndjson ? JSON.parse(created.body.split('\n')[3]!) : json(created).recipients[2]
        t.equal(first.id, 'cust-2')
        t.equal(first.optedOut, true)

        const added = { recipients: [...ids(count, 'more'), 'cust-1'] }
        const id = ndjson ? JSON.parse(created.body.split('\n')[0]!).id : json(created).id
        // Added on the event loop, asked again through the thread: the same tokens.
        const onLoop = await call(loop, key, `/v1/messages/${id}/recipients`, added, ndjson)
        const onThread = await call(thread, key, `/v1/messages/${id}/recipients`, added, ndjson)
        t.equal(onThread.statusCode, 200)
        t.equal(onThread.body, onLoop.body, `${count} recipients added: the same answer`)
      }
    }
    t.equal(await threadCalls(thread), 0, 'the thread holds no call once every answer is read')
  })

  t.test('a body the thread refuses gets the error the event loop gives, and nothing is stored', async (t) => {
    const { thread, loop, key } = await twoPaths(t, t.context.backend)
    const links = [{ url: 'https://shop.dk/x' }]
    const bad: Array<[string, string | object]> = [
      ['not JSON', `{"links":[{"url":"https://shop.dk/x"}],"recipients":["a",]}`],
      ['an id with spaces around it', { links, recipients: [...ids(2_000), ' cust '] }],
      ['an unknown field', { links, recipients: ['a'], colour: 'red' }],
      ['a prototype key', `{"links":[{"url":"https://shop.dk/x"}],"recipients":["a"],"__proto__":{"x":1}}`],
      ['an empty body', ''],
    ]
    for (const [fault, payload] of bad) {
      const onThread = await call(thread, key, '/v1/messages', payload)
      const onLoop = await call(loop, key, '/v1/messages', payload)
      t.equal(onThread.statusCode, 400, fault)
      t.same(json(onThread), json(onLoop), `${fault}: the same error`)
    }
    // Errors found after the body was taken: the call's fields, then the message.
    const unknownDomain = { links, domain: 's.other.dk', recipients: ['a'] }
    t.same(
      json(await call(thread, key, '/v1/messages', unknownDomain)),
      json(await call(loop, key, '/v1/messages', unknownDomain)),
    )
    const taken = { externalId: 'once', links, recipients: ['a'] }
    t.equal((await call(thread, key, '/v1/messages', taken)).statusCode, 201)
    const conflict = await call(thread, key, '/v1/messages', { ...taken, links: [{ url: 'https://shop.dk/y' }] })
    t.equal(conflict.statusCode, 409)
    t.equal(json(conflict).error, 'external_id_conflict')
    const missing = await call(thread, key, '/v1/messages/msg_0000000000000000/recipients', { recipients: ['a'] })
    t.equal(missing.statusCode, 404)
    const list = json(await thread.inject({ url: '/v1/messages', headers: bearer(key) }))
    t.equal(list.messages.length, 1, 'only the one good call stored a message')
    t.equal(await threadCalls(thread), 0, 'the failed calls let go of their recipients')
  })
})

t.test('a client that leaves during a long answer has its recipients let go', async (t) => {
  const app = await startApp(t, { env: { RECIPIENTS_THREAD_MIN_BYTES: '1' } })
  const { key } = await createTenant(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const body = JSON.stringify({ links: [{ url: 'https://shop.dk/x' }], recipients: ids(20_000) })
  const firstBytes = await new Promise<number>((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/messages',
        headers: { ...bearer(key), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.once('data', (chunk: Buffer) => {
          resolve(chunk.length)
          request.destroy()
        })
      },
    )
    request.on('error', (err) => (request.destroyed ? undefined : reject(err)))
    request.end(body)
  })
  t.ok(firstBytes > 0, 'the answer had begun')
  await eventually(t, 'the thread lets go of the call', async () => (await threadCalls(app)) === 0)
})

t.test('the thread stops when idle and starts again at the next large call', async (t) => {
  const app = await startApp(t, { env: { RECIPIENTS_THREAD_MIN_BYTES: '1', RECIPIENTS_THREAD_IDLE_MS: '20' } })
  const { key } = await createTenant(app)
  const send = (n: number) =>
    call(app, key, '/v1/messages', { links: [{ url: 'https://shop.dk/x' }], recipients: ids(1_500, `send-${n}`) })
  for (let n = 1; n <= 3; n++) {
    const response = await send(n)
    t.equal(response.statusCode, 201)
    t.equal(json(response).recipients.length, 1_500)
    t.equal(await threadBodies(app), n, `call ${n} went to the thread`)
    // Long enough for the idle thread to stop.
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
})
