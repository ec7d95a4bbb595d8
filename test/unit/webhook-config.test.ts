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
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), ConfigError, JSON.stringify(env))
    t.throws(() => loadConfig(env), { message }, JSON.stringify(env))
  }
})
