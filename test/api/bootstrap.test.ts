import t from 'tap'
import { bearer, json, postMessage, startApp, tap, tempDatabasePath, captureLogs } from '../helpers.js'

t.test('first start without ADMIN_TOKEN creates a tenant, a domain and a key, and logs the key once', async (t) => {
  const databasePath = tempDatabasePath(t)
  const log = captureLogs()
  const env = { ADMIN_TOKEN: '', PUBLIC_URL: 'http://localhost:3000' }
  const app = await startApp(t, { databasePath, env, logger: log.logger })
  const line = log.lines.find((l) => l.apiKey)
  t.ok(line, 'the key is in the start-up log')
  t.match(line, { domain: 'localhost:3000', apiKey: /^sl_/, msg: /first start/ })

  const message = json(
    await postMessage(app, line.apiKey, { links: [{ url: 'https://example.com/' }], recipients: ['me'] }),
  )
  t.match(message.recipients[0].links[0], /^http:\/\/localhost:3000\/[0-9A-Za-z]{6}-/)
  const response = await tap(app, message.recipients[0].links[0])
  t.equal(response.statusCode, 302)
  await app.close()

  const again = captureLogs()
  const second = await startApp(t, { databasePath, env, logger: again.logger })
  t.notOk(
    again.lines.find((l) => l.apiKey),
    'never printed again',
  )
  t.equal((await second.inject({ url: '/v1/messages', headers: bearer(line.apiKey) })).statusCode, 200)
})

t.test('no default tenant when ADMIN_TOKEN is set', async (t) => {
  const log = captureLogs()
  await startApp(t, { logger: log.logger })
  t.notOk(log.lines.find((l) => l.apiKey))
})
