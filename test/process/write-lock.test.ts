import Database from 'better-sqlite3'
import t from 'tap'
import { createTenant, json, postMessage, startApp, tap, tempDatabasePath } from '../helpers.js'

t.test('an API write that finds the write lock taken waits for it without holding up redirects', async (t) => {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath, clickWriter: 'thread' })
  const { key } = await createTenant(app)
  const first = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))

  // Another connection (the CLI, a backup, the click writer) holds the write lock.
  const other = new Database(databasePath)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  let created: Awaited<ReturnType<typeof postMessage>> | null = null
  const creating = postMessage(app, key, { links: [{ url: 'https://shop.dk/2' }], recipients: ['b'] }).then(
    (r) => (created = r),
  )

  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(created, null, 'the write is still waiting for the lock')
  const redirect = await tap(app, first.recipients[0].links[0])
  t.equal(redirect.statusCode, 302, 'a tap is answered meanwhile')

  other.exec('COMMIT')
  const response = await creating
  t.equal(response.statusCode, 201, 'the write went through once the lock was free')
  const listed = json(await app.inject({ url: '/v1/messages', headers: { authorization: `Bearer ${key}` } }))
  t.equal(listed.messages.length, 2)
})
