import t from 'tap'
import type { TapBatch } from '../../src/click.js'
import type { ClickSink } from '../../src/clicks/recorder.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { startTcpProxy } from '../fixtures/tcp-proxy.js'
import { createTenant, json, postMessage, startApp, stats, tap, UA } from '../helpers.js'

/** The recorder's sink: reached as a crash or a lost reply would leave it, there is no hook for this in the service. */
function sinkOf(app: Awaited<ReturnType<typeof startApp>>): ClickSink & { worker: { terminate(): Promise<number> } } {
  return (app.services.recorder as any).sink
}

const onThread = { backend: 'postgres', clickWriter: 'thread' } as const

t.test('on PostgreSQL the thread writes every click, counted exactly by class and recipient', async (t) => {
  const app = await startApp(t, onThread)
  t.equal(sinkOf(app).constructor.name, 'ThreadClickSink')
  const { key } = await createTenant(app)
  const recipients = Array.from({ length: 30 }, (_, i) => `r${i}`)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }], recipients }),
  )
  for (const recipient of message.recipients) {
    await tap(app, recipient.links[0])
    await tap(app, recipient.links[0], { userAgent: UA.androidChrome })
  }
  for (const recipient of message.recipients.slice(0, 10)) await tap(app, recipient.links[1])
  for (const recipient of message.recipients.slice(0, 4))
    await tap(app, recipient.links[1], { userAgent: UA.googlebot })
  await tap(app, message.recipients[0].links[0], { userAgent: UA.imessagePreview })
  await app.services.recorder.flush()
  t.equal(app.services.recorder.written, 75)
  const figures = await stats(app, key, message.id)
  t.has(figures.clicks, { total: 70, unique: 30, bots: 4, previews: 1 })
  t.has(figures.links[0].clicks, { total: 60, unique: 30, bots: 0, previews: 1 })
  t.has(figures.links[1].clicks, { total: 10, unique: 10, bots: 4, previews: 0 })
})

t.test('a batch whose reply was lost is tried again under its id and counted once', async (t) => {
  const app = await startApp(t, onThread)
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }),
  )
  // The thread commits the batch, then the answer never reaches the recorder.
  const sink = sinkOf(app)
  const write = sink.write.bind(sink)
  const ids: string[] = []
  sink.write = async (batch: TapBatch, batchId: string) => {
    ids.push(batchId)
    await write(batch, batchId)
    if (ids.length === 1) throw new Error('Connection terminated unexpectedly')
  }
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  await tap(app, message.recipients[0].links[0])
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 4, 'the recorder keeps the batch it was not told was written')
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 0)
  t.equal(ids.length, 2)
  t.equal(ids[1], ids[0], 'the second attempt carries the first one’s id')
  t.has((await stats(app, key, message.id)).clicks, { total: 4, unique: 3 }, 'counted once')
})

t.test('a batch PostgreSQL refuses is rejected with its SQLSTATE and given up after a few attempts', async (t) => {
  const app = await startApp(t, onThread)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  const sink = sinkOf(app)
  const write = sink.write.bind(sink)
  const errors: Array<Error & { code?: string }> = []
  // A link id beyond BIGINT is data PostgreSQL refuses: the thread's error must say so.
  sink.write = async (batch: TapBatch, batchId: string) => {
    batch.linkId.fill(1e20)
    await write(batch, batchId).catch((err: Error) => {
      errors.push(err)
      throw err
    })
  }
  await tap(app, message.recipients[0].links[0])
  for (let attempt = 0; attempt < 3; attempt++) await app.services.recorder.flush()
  t.ok(errors.length > 0, 'the write failed')
  t.match(errors[0]!.code, /^22/, 'with the data exception SQLSTATE the recorder reads')
  t.equal(app.services.recorder.depth, 0, 'the batch was given up, not retried forever')
  t.equal(app.services.recorder.dropped, 1)
  // The next batch goes through as usual.
  sink.write = write
  await tap(app, message.recipients[1].links[0])
  await app.services.recorder.flush()
  t.has((await stats(app, key, message.id)).clicks, { total: 1, unique: 1 })
})

t.test('a writer thread on PostgreSQL that dies is started again for the next batch', async (t) => {
  const app = await startApp(t, onThread)
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }),
  )
  await tap(app, message.recipients[0].links[0])
  await app.services.recorder.flush()
  const sink = sinkOf(app)
  const first = sink.worker
  await first.terminate()
  await tap(app, message.recipients[1].links[0])
  await tap(app, message.recipients[2].links[0])
  await app.services.recorder.flush()
  t.not(sink.worker, first, 'a new thread')
  t.equal(app.services.recorder.depth, 0, 'nothing left waiting')
  t.has((await stats(app, key, message.id)).clicks, { total: 3, unique: 3 }, 'every click written')
})

t.test('a thread started while PostgreSQL is away keeps the batches until it is back', async (t) => {
  const database = new URL(await postgresDatabase(t))
  const proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port) })
  t.teardown(() => proxy.close())
  const throughProxy = new URL(database)
  throughProxy.port = String(proxy.port)
  const app = await startApp(t, { ...onThread, databaseUrl: throughProxy.toString() })
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  await tap(app, message.recipients[0].links[0])
  await app.services.recorder.flush()

  proxy.cut()
  const sink = sinkOf(app)
  await sink.worker.terminate()
  await tap(app, message.recipients[0].links[0])
  await tap(app, message.recipients[1].links[0])
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 2, 'a new thread could not write them: they wait in the recorder')
  t.equal(app.services.recorder.dropped, 0)

  proxy.restore()
  await app.services.recorder.flush()
  t.equal(app.services.recorder.depth, 0)
  t.has((await stats(app, key, message.id)).clicks, { total: 3, unique: 2 }, 'written once it is back')
})
