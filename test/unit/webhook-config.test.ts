import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

t.test(
  'webhook delivery defaults: poll every second, retry from 30 s up to 1 h apart, give up after 24 h',
  async (t) => {
    const config = loadConfig({})
    t.equal(config.webhookPollIntervalMs, 1000)
    t.equal(config.webhookRetryBaseMs, 30_000)
    t.equal(config.webhookRetryMaxMs, 3_600_000)
    t.equal(config.webhookGiveUpAfterMs, 86_400_000)
    t.equal(config.webhookTimeoutMs, 10_000)
    t.equal(config.webhookConnectTimeoutMs, 5_000)
    t.equal(config.webhookResponseMaxBytes, 65_536)
    t.equal(config.webhookConcurrencyPerTenant, 4)
    t.equal(config.webhookAllowHttp, false)
    t.equal(config.webhookAllowPrivateNetworks, false)
  },
)

t.test('bad webhook variables stop start-up with one line naming them', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ WEBHOOK_POLL_INTERVAL_MS: '0' }, /^WEBHOOK_POLL_INTERVAL_MS must be a whole number from 1 to 60000/],
    [{ WEBHOOK_RETRY_BASE_MS: 'soon' }, /^WEBHOOK_RETRY_BASE_MS must be a whole number/],
    [
      { WEBHOOK_RETRY_BASE_MS: '5000', WEBHOOK_RETRY_MAX_MS: '1000' },
      /^WEBHOOK_RETRY_MAX_MS must be at least WEBHOOK_RETRY_BASE_MS \(5000\) \(got "1000"\)$/,
    ],
    [{ WEBHOOK_GIVE_UP_AFTER_MS: '-1' }, /^WEBHOOK_GIVE_UP_AFTER_MS must be a whole number/],
    [{ WEBHOOK_TIMEOUT_MS: '999999' }, /^WEBHOOK_TIMEOUT_MS must be a whole number from 1 to 120000/],
    [{ WEBHOOK_CONNECT_TIMEOUT_MS: '0' }, /^WEBHOOK_CONNECT_TIMEOUT_MS must be a whole number from 1 to 120000/],
    [{ WEBHOOK_RESPONSE_MAX_BYTES: '1e6' }, /^WEBHOOK_RESPONSE_MAX_BYTES must be a whole number/],
    [{ WEBHOOK_CONCURRENCY_PER_TENANT: '0' }, /^WEBHOOK_CONCURRENCY_PER_TENANT must be a whole number from 1 to 50/],
    [{ WEBHOOK_ALLOW_HTTP: 'yes' }, /^WEBHOOK_ALLOW_HTTP must be true or false \(got "yes"\)$/],
    [{ WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' }, /^WEBHOOK_ALLOW_PRIVATE_NETWORKS must be true or false/],
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), ConfigError, JSON.stringify(env))
    t.throws(() => loadConfig(env), { message }, JSON.stringify(env))
  }
})

t.test('the connect timeout is never longer than the whole delivery may take', async (t) => {
  const config = loadConfig({ WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_CONNECT_TIMEOUT_MS: '9000' })
  t.equal(config.webhookConnectTimeoutMs, 2000)
})
