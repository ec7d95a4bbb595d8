import t from 'tap'
import { loadConfig } from '../../src/config.js'

t.test('click-truth and analytics settings have defaults', async (t) => {
  const config = loadConfig({})
  t.equal(config.tooFastMs, 2000)
  t.equal(config.burstWindowMs, 10_000)
  t.equal(config.abSignificance, 0.05)
  t.equal(config.attributionWindowDays, 5)
})

t.test('they are read from the environment', async (t) => {
  const config = loadConfig({
    TOO_FAST_MS: '0',
    BURST_WINDOW_MS: '30000',
    AB_SIGNIFICANCE: '0.01',
    ATTRIBUTION_WINDOW_DAYS: '30',
  })
  t.same(
    [config.tooFastMs, config.burstWindowMs, config.abSignificance, config.attributionWindowDays],
    [0, 30_000, 0.01, 30],
  )
})

t.test('a bad value stops start-up with one line naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ TOO_FAST_MS: '-1' }, /^TOO_FAST_MS must be a whole number from 0 to 600000/],
    [{ TOO_FAST_MS: '2s' }, /^TOO_FAST_MS must be a whole number/],
    [{ BURST_WINDOW_MS: '1.5' }, /^BURST_WINDOW_MS must be a whole number/],
    [{ AB_SIGNIFICANCE: '5%' }, /^AB_SIGNIFICANCE must be a number between 0 and 1/],
    [{ AB_SIGNIFICANCE: '1' }, /^AB_SIGNIFICANCE must be a number between 0 and 1/],
    [{ AB_SIGNIFICANCE: '0' }, /^AB_SIGNIFICANCE must be a number between 0 and 1/],
    [{ ATTRIBUTION_WINDOW_DAYS: '0' }, /^ATTRIBUTION_WINDOW_DAYS must be a whole number from 1 to 365/],
  ]
  for (const [env, message] of cases)
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
})
