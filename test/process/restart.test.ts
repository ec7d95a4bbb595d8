import t from 'tap'
import { bearer, createTenant, json, postMessage, startApp, stats, tap, tempDatabasePath, UA } from '../helpers.js'

t.test('a restart keeps every link, token and flushed click', async (t) => {
  const databasePath = tempDatabasePath(t)
  const first = await startApp(t, { databasePath, clickWriter: 'thread' })
  const { key } = await createTenant(first)
  const message = json(
    await postMessage(first, key, { links: [{ url: 'https://shop.dk/a' }], recipients: ['a', 'b', 'c'] }),
  )
  await tap(first, message.recipients[0].links[0])
  await tap(first, message.recipients[0].links[0])
  await tap(first, message.recipients[1].links[0], { userAgent: UA.whatsapp })
  // Closing flushes what is queued, as SIGTERM does.
  await first.close()

  const second = await startApp(t, { databasePath, clickWriter: 'thread' })
  const before = await stats(second, key, message.id)
  t.has(before.clicks, { total: 2, unique: 1, bots: 0, previews: 1 }, 'clicks survived')

  const response = await tap(second, message.recipients[0].links[0])
  t.equal(response.statusCode, 302, 'links survived')
  await tap(second, message.recipients[2].links[0])
  const after = await stats(second, key, message.id)
  t.has(after.clicks, { total: 4, unique: 2, bots: 0, previews: 1 }, 'tokens still verify: the secret was kept')

  const again = await postMessage(second, key, { links: [{ url: 'https://shop.dk/a' }], recipients: ['a'] })
  t.equal(json(again).recipients[0].id, 'a')
  t.equal((await second.inject({ url: '/v1/messages', headers: bearer(key) })).statusCode, 200, 'keys survived')
})

t.test('with TOKEN_SECRET set, tokens are the same across databases started with it', async (t) => {
  const env = { TOKEN_SECRET: 'a-token-secret-that-is-long-enough-123' }
  const a = await startApp(t, { env })
  const b = await startApp(t, { env })
  const ka = (await createTenant(a)).key
  const kb = (await createTenant(b)).key
  const ma = json(await postMessage(a, ka, { links: [{ url: 'https://shop.dk' }], recipients: ['x'] }))
  const mb = json(await postMessage(b, kb, { links: [{ url: 'https://shop.dk' }], recipients: ['x'] }))
  t.equal(ma.recipients[0].token, mb.recipients[0].token)
})
