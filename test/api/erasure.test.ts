import type { FastifyInstance } from 'fastify'
import t from 'tap'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  postMessage,
  startApp,
  stats,
  tap,
  UA,
  confirmUnsubscribe,
  tempDatabasePath,
  withEachBackend,
} from '../helpers.js'
import { SqliteStore } from '../../src/db/sqlite/index.js'
import { PostgresStore } from '../../src/db/postgres/index.js'
import { queryRows } from '../fixtures/store-backends.js'
import { eventually, FAST_WEBHOOKS, startReceiver } from '../fixtures/webhook-receiver.js'

const PERSON = 'cust-4242-erase-me'

const erase = (app: FastifyInstance, key: string, id: string) =>
  app.inject({ method: 'DELETE', url: `/v1/recipients/${encodeURIComponent(id)}`, headers: bearer(key) })

/** Every column of every table of the app's database. */
async function columns(app: FastifyInstance): Promise<Array<{ table: string; column: string }>> {
  const store = app.services.store
  if (store instanceof PostgresStore) {
    return queryRows(
      store,
      `SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
       WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    )
  }
  return queryRows(
    store,
    `SELECT t.name AS "table", c.name AS "column" FROM sqlite_master t, pragma_table_info(t.name) c
     WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite_%' ORDER BY t.name, c.cid`,
  )
}

/** Every row of every table, with the columns holding `needle` anywhere in their text. */
async function tablesHolding(app: FastifyInstance, needle: string): Promise<string[]> {
  const hits: string[] = []
  // The position of a substring: instr(text, part) on SQLite, strpos(text, part) on PostgreSQL.
  const position = app.services.store instanceof PostgresStore ? 'strpos' : 'instr'
  for (const { table, column } of await columns(app)) {
    const [row] = await queryRows<{ n: number }>(
      app.services.store,
      `SELECT count(*) AS n FROM "${table}" WHERE ${position}(CAST("${column}" AS TEXT), ?) > 0`,
      [needle],
    )
    if (row!.n > 0) hits.push(`${table}.${column}`)
  }
  return hits
}

withEachBackend(t, (t) => {
  t.test('erasing a recipient removes the id and their click details everywhere; stats stay', async (t) => {
    const receiver = await startReceiver(t, () => 204)
    const app = await startApp(t, { env: FAST_WEBHOOKS })
    const { key } = await createTenant(app)
    await app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(key),
      payload: { url: receiver.url, events: ['click', 'unsubscribe'] },
    })
    const first = json(
      await postMessage(app, key, {
        links: [{ url: 'https://shop.dk/a' }],
        recipients: ['other', PERSON],
        unsubscribe: true,
        clickIdParam: 'sl_cid',
      }),
    )
    const second = json(await postMessage(app, key, { text: 'Sale at shop.dk/b', recipients: [PERSON, 'third'] }))
    await tap(app, first.recipients[1].links[0], { address: '198.51.100.23' })
    await tap(app, first.recipients[1].links[0], { userAgent: UA.whatsapp })
    await tap(app, first.recipients[0].links[0])
    await tap(app, second.recipients[0].links[0], { userAgent: UA.androidChrome })
    t.equal(
      (await confirmUnsubscribe(app, first.recipients[1].unsubscribeUrl, { userAgent: UA.iphoneSafari })).statusCode,
      200,
    )
    await flushClicks(app)
    await eventually(t, 'events delivered', () => receiver.received.length === 5)
    t.ok((await tablesHolding(app, PERSON)).length > 0, 'sanity: the id is stored before')
    const before = [await stats(app, key, first.id), await stats(app, key, second.id)]

    const response = await erase(app, key, PERSON)
    t.equal(response.statusCode, 204)
    t.equal(response.body, '')

    t.same(await tablesHolding(app, PERSON), [], 'no table holds the id')
    t.same([await stats(app, key, first.id), await stats(app, key, second.id)], before, 'stats stay as they were')

    const store = app.services.store
    const theirs = await queryRows(
      store,
      `SELECT c.user_agent_id AS ua, c.network, c.click_id AS "clickId" FROM clicks c
     JOIN messages m ON m.id = c.message_id WHERE (m.public_id = ? AND c.recipient_idx = 1) OR (m.public_id = ? AND c.recipient_idx = 0)`,
      [first.id, second.id],
    )
    t.equal(theirs.length, 3)
    t.same(
      theirs,
      Array(3).fill({ ua: null, network: null, clickId: null }),
      'their clicks keep no user agent, network or click id',
    )
    const [others] = await queryRows<{ n: number }>(
      store,
      'SELECT count(*) AS n FROM clicks WHERE user_agent_id IS NOT NULL AND network IS NOT NULL',
    )
    t.equal(others!.n, 1, "the other recipient's click keeps its details")
    const tombstones = (
      await queryRows<{ id: string }>(
        store,
        "SELECT external_id AS id FROM recipients WHERE external_id LIKE 'erased%'",
      )
    ).map((row) => row.id)
    t.equal(tombstones.length, 2)
    t.not(tombstones[0], tombstones[1], 'a tombstone per row')

    // Still suppressed: the sender posting the id again learns it must not text them.
    const again = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/c' }], recipients: [PERSON, 'fresh'] }),
    )
    t.same(
      again.recipients.map((r: { id: string; optedOut: boolean }) => [r.id, r.optedOut]),
      [
        [PERSON, true],
        ['fresh', false],
      ],
    )
    const optOuts = json(await app.inject({ url: '/v1/optouts', headers: bearer(key) })).optOuts
    t.equal(optOuts.length, 1)
    t.match(optOuts[0].recipient, /^erased:[0-9a-f]{32}$/, 'the list shows the suppression key, not the id')

    // The old links still redirect (and count, anonymously to nobody in particular).
    t.equal((await tap(app, first.recipients[1].links[0])).statusCode, 302)
  })

  t.test('an unknown or already erased recipient is a 404; another tenant is untouched', async (t) => {
    const app = await startApp(t)
    const one = await createTenant(app, 's.one.dk', 'One')
    const two = await createTenant(app, 's.two.dk', 'Two')
    const a = json(await postMessage(app, one.key, { links: [{ url: 'https://shop.dk' }], recipients: [PERSON] }))
    const b = json(
      await postMessage(app, two.key, { links: [{ url: 'https://shop.dk' }], recipients: [PERSON, 'only-two'] }),
    )
    await tap(app, a.recipients[0].links[0])
    await tap(app, b.recipients[0].links[0])
    await flushClicks(app)

    const unknown = await erase(app, one.key, 'only-two')
    t.equal(unknown.statusCode, 404, "another tenant's recipient")
    t.same(json(unknown), { error: 'not_found', message: 'recipient not found' })
    t.equal((await erase(app, one.key, 'nobody')).statusCode, 404)
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/recipients/${PERSON}` })).statusCode, 401, 'needs a key')

    t.equal((await erase(app, one.key, PERSON)).statusCode, 204)
    t.equal((await erase(app, one.key, PERSON)).statusCode, 404, 'erased already')
    t.same(
      await tablesHolding(app, PERSON),
      ['recipients.external_id'],
      "only tenant Two's recipient row still holds it",
    )
    t.same(
      await queryRows(app.services.store, 'SELECT count(*) AS n FROM clicks WHERE user_agent_id IS NOT NULL'),
      [{ n: 1 }],
      "Two's click keeps its details",
    )
    t.same(
      json(await postMessage(app, two.key, { links: [{ url: 'https://shop.dk' }], recipients: [PERSON] })).recipients[0]
        .optedOut,
      false,
    )
  })
})

t.test('an erasure whose queued taps cannot be written erases nothing and answers 503', async (t) => {
  const store = SqliteStore.open(tempDatabasePath(t))
  // The database takes every call but the click batches, as when only the click writer's connection is cut.
  let clicksFail = true
  const failing = new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'writeClicks' && clicksFail)
        return async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
        }
      const value: unknown = Reflect.get(target, name, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const app = await startApp(t, { store: failing })
  t.teardown(() => store.close())
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: [PERSON] }))
  t.equal((await tap(app, message.recipients[0].links[0], { userAgent: UA.androidChrome })).statusCode, 302)

  const refused = await erase(app, key, PERSON)
  t.equal(refused.statusCode, 503)
  t.equal(json(refused).error, 'database_unavailable')
  t.equal(refused.headers['retry-after'], '5')
  t.ok((await tablesHolding(app, PERSON)).includes('recipients.external_id'), 'the recipient is still there')

  clicksFail = false
  await flushClicks(app)
  const [written] = await queryRows<{ ua: string | null }>(
    store,
    'SELECT u.ua AS ua FROM clicks c LEFT JOIN user_agents u ON u.id = c.user_agent_id',
  )
  t.match(written!.ua, /Android/, 'the queued tap was written once the database took it')
  t.equal((await erase(app, key, PERSON)).statusCode, 204)
  t.same(await tablesHolding(app, PERSON), [], 'no table holds the id')
  const [scrubbed] = await queryRows<{ ua: string | null }>(
    store,
    'SELECT u.ua AS ua FROM clicks c LEFT JOIN user_agents u ON u.id = c.user_agent_id',
  )
  t.equal(scrubbed!.ua, null, 'the tap written before the erasure lost its details')
})
