import Database from 'better-sqlite3'
import t from 'tap'
import {
  bearer,
  createTenant,
  json,
  postMessage,
  startApp,
  stats,
  tap,
  tempDatabasePath,
  captureLogs,
} from '../helpers.js'

t.test('API requests are logged once; redirects and health checks are not logged', async (t) => {
  const log = captureLogs()
  const app = await startApp(t, { logger: log.logger })
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  log.lines.length = 0

  await app.inject({ url: `/v1/messages/${message.id}`, headers: bearer(key) })
  for (let i = 0; i < 5; i++) await tap(app, message.recipients[0].links[0])
  await app.inject({ url: '/healthz' })

  t.equal(log.lines.length, 1, JSON.stringify(log.lines))
  t.match(log.lines[0], { method: 'GET', url: `/v1/messages/${message.id}`, status: 200, msg: 'request completed' })
  t.notOk(JSON.stringify(log.lines).includes(message.recipients[0].token), 'no recipient token in the log')
})

t.test('TRUST_PROXY decides whose address is the client', async (t) => {
  for (const [trust, expected] of [
    ['', '127.0.0.0/24'],
    ['true', '198.51.100.0/24'],
    ['1', '198.51.100.0/24'],
    ['127.0.0.1', '198.51.100.0/24'],
  ] as const) {
    const databasePath = tempDatabasePath(t)
    const app = await startApp(t, { databasePath, env: { TRUST_PROXY: trust } })
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
    await app.inject({
      url: new URL(message.recipients[0].links[0]).pathname,
      headers: { host: 's.shop.dk', 'x-forwarded-for': '198.51.100.23', 'user-agent': 'Mozilla/5.0 (iPhone)' },
      remoteAddress: '127.0.0.1',
    })
    await stats(app, key, message.id)
    const db = new Database(databasePath, { readonly: true })
    const row = db.prepare('SELECT network FROM clicks').get() as { network: string }
    db.close()
    t.equal(row.network, expected, `TRUST_PROXY=${JSON.stringify(trust)}`)
  }
})
