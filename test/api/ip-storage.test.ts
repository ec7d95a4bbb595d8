import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { dailyAddressHasher } from '../../src/clicks/network.js'
import { loadConfig } from '../../src/config.js'
import { createTenant, flushClicks, json, postMessage, startApp, tap, tempDatabasePath } from '../helpers.js'

const SECRET = 'a-token-secret-that-is-long-enough-123'

/** Taps one link from each address and returns what the clicks table holds, in tap order. */
async function storedNetworks(
  t: Test,
  env: Record<string, string>,
  addresses: string[],
): Promise<Array<string | null>> {
  const databasePath = tempDatabasePath(t)
  const app = await startApp(t, { databasePath, env })
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a'] }))
  for (const address of addresses)
    t.equal((await tap(app, message.recipients[0].links[0], { address })).statusCode, 302)
  await flushClicks(app)
  const db = new Database(databasePath, { readonly: true })
  t.teardown(() => db.close())
  const dump = JSON.stringify(db.prepare('SELECT * FROM clicks').all())
  for (const address of addresses) t.notOk(dump.includes(address), `${address} is not stored`)
  return (db.prepare('SELECT network FROM clicks ORDER BY id').all() as Array<{ network: string | null }>).map(
    (row) => row.network,
  )
}

const addresses = ['203.0.113.77', '203.0.113.78', '203.0.113.77', '2001:db8:abcd:12::1']

t.test('IP_STORAGE=network (the default) keeps the /24 or /48', async (t) => {
  t.same(await storedNetworks(t, {}, addresses), [
    '203.0.113.0/24',
    '203.0.113.0/24',
    '203.0.113.0/24',
    '2001:db8:abcd::/48',
  ])
})

t.test('IP_STORAGE=none keeps nothing of the address', async (t) => {
  t.same(await storedNetworks(t, { IP_STORAGE: 'none' }, addresses), [null, null, null, null])
})

t.test('IP_STORAGE=hash keeps a keyed hash: equal for the same address, not the network', async (t) => {
  const [a, b, again, v6] = await storedNetworks(t, { IP_STORAGE: 'hash', TOKEN_SECRET: SECRET }, addresses)
  t.match(a, /^h:[0-9a-f]{16}$/)
  t.equal(again, a, 'the same address the same day gives the same value')
  t.not(b, a, 'a neighbour in the same /24 gives another value')
  t.not(v6, a)
})

t.test('the hash key changes every UTC day and depends on the secret', async (t) => {
  const hash = dailyAddressHasher(SECRET)
  const day = Date.UTC(2026, 10, 23, 0, 0, 0)
  const morning = hash('203.0.113.77', day + 1000)
  t.equal(hash('203.0.113.77', day + 86_399_000), morning, 'the same all day')
  t.equal(hash('::ffff:203.0.113.77', day + 5000), morning, 'an IPv4-mapped address is the IPv4 address')
  t.not(hash('203.0.113.77', day + 86_400_000), morning, 'another value the next day')
  t.not(dailyAddressHasher(`${SECRET}x`)('203.0.113.77', day + 1000), morning, 'another secret, another value')
  t.equal(hash(undefined, day), null)
})

t.test('IP_STORAGE is validated, and hash needs TOKEN_SECRET', async (t) => {
  t.throws(() => loadConfig({ IP_STORAGE: 'raw' }), {
    name: 'ConfigError',
    message: /^IP_STORAGE must be one of network, hash, none/,
  })
  t.throws(() => loadConfig({ IP_STORAGE: 'hash' }), { message: /^IP_STORAGE hash needs TOKEN_SECRET/ })
  t.equal(loadConfig({ IP_STORAGE: 'hash', TOKEN_SECRET: SECRET }).ipStorage, 'hash')
  t.equal(loadConfig({}).ipStorage, 'network')
})
