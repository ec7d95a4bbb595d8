import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

t.test('without DATABASE_URL the store is SQLite at DATABASE_PATH', async (t) => {
  t.equal(loadConfig({}).databaseUrl, null)
  t.equal(loadConfig({ DATABASE_URL: '  ' }).databaseUrl, null)
})

t.test('a postgres URL is kept as given', async (t) => {
  for (const url of ['postgres://smslinks:pw@db.internal:5432/smslinks', 'postgresql://db/smslinks?sslmode=require']) {
    t.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url)
  }
})

t.test('a malformed DATABASE_URL stops start-up with one line that never shows the password', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['not a url', /^DATABASE_URL must be a URL such as postgres:\/\//],
    [
      'mysql://u:secretpw@db/smslinks',
      /^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/ \(got "mysql:\/\/…"\)$/,
    ],
    ['postgres://u:secretpw@db', /^DATABASE_URL must name a database/],
    ['postgres:///smslinks', /^DATABASE_URL must name a host/],
  ]
  for (const [value, message] of cases) {
    const error = t.throws(() => loadConfig({ DATABASE_URL: value }), ConfigError, value) as Error
    t.match(error.message, message)
    t.notMatch(error.message, /secretpw/)
  }
})
