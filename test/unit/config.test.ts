import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

t.test('defaults need no variable at all', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.databasePath, './data/smslinks.db')
  t.equal(config.publicUrl.href, 'http://localhost:3000/')
  t.equal(config.adminToken, null)
  t.equal(config.tokenSecret, null)
  t.equal(config.logLevel, 'info')
})

t.test('PUBLIC_URL defaults to the configured port', async (t) => {
  t.equal(loadConfig({ PORT: '8080' }).publicUrl.host, 'localhost:8080')
})

t.test('a bad variable stops start-up with one line naming it', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'abc' }, /^PORT must be a whole number from 0 to 65535 \(got "abc"\)$/],
    [{ PORT: '70000' }, /^PORT must be a whole number/],
    [{ PUBLIC_URL: 'not a url' }, /^PUBLIC_URL must be an absolute http\(s\) URL/],
    [{ PUBLIC_URL: 'ftp://s.brand.dk' }, /^PUBLIC_URL must start with http/],
    [{ PUBLIC_URL: 'https://s.brand.dk/path' }, /^PUBLIC_URL must be an origin without a path/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error/],
    [{ ADMIN_TOKEN: 'short' }, /^ADMIN_TOKEN must be at least 16 characters long/],
    [{ TOKEN_SECRET: 'short' }, /^TOKEN_SECRET must be at least 32 characters long/],
    [{ CLICK_FLUSH_INTERVAL_MS: '0' }, /^CLICK_FLUSH_INTERVAL_MS must be a whole number from 1 to 1000/],
    [{ LINK_CACHE_SIZE: '1.5' }, /^LINK_CACHE_SIZE must be a whole number/],
    [{ TRUST_PROXY: 'sometimes' }, /^TRUST_PROXY must be true, false, a hop count/],
    [{ TRUST_PROXY: '1000' }, /^TRUST_PROXY must be a whole number from 0 to 100/],
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  t.ok(new ConfigError('X', 'must be y', 'z') instanceof Error)
})

t.test('secrets are not echoed in the error', async (t) => {
  try {
    loadConfig({ ADMIN_TOKEN: 'hunter2' })
    t.fail('a short ADMIN_TOKEN must be refused')
  } catch (err) {
    t.match((err as Error).message, /^ADMIN_TOKEN /)
    t.notMatch((err as Error).message, /hunter2/)
  }
})

t.test('TRUST_PROXY takes a boolean, a hop count or addresses', async (t) => {
  t.equal(loadConfig({}).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.equal(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy, '10.0.0.1,10.1.0.0/16')
})

t.test('empty variables count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', ADMIN_TOKEN: '  ' }).port, 3000)
  t.equal(loadConfig({ ADMIN_TOKEN: '' }).adminToken, null)
})
