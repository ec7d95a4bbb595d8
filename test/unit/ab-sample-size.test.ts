import t from 'tap'
import { recipientsPerVariant, twoProportionTest } from '../../src/analytics/ab-test.js'
import { normalCdf, normalQuantile } from '../../src/analytics/normal-distribution.js'

t.test('the normal quantile inverts the normal CDF', async (t) => {
  t.equal(Math.round(normalQuantile(0.975) * 1000) / 1000, 1.96)
  t.equal(Math.round(normalQuantile(0.8) * 10_000) / 10_000, 0.8416)
  t.equal(Math.round(normalQuantile(0.5) * 1e9) / 1e9, 0)
  for (const p of [0.001, 0.1, 0.37, 0.9, 0.999]) t.ok(Math.abs(normalCdf(normalQuantile(p)) - p) < 1e-9, `p ${p}`)
})

t.test('recipients per variant to tell two CTRs apart at 5 % with 80 % power', async (t) => {
  // The textbook case: 10 % against 12 % needs about 3,841 per group.
  t.equal(recipientsPerVariant(0.1, 0.12, 0.05), 3841)
  t.equal(recipientsPerVariant(0.12, 0.1, 0.05), 3841, 'the order does not matter')
  t.ok(recipientsPerVariant(0.1, 0.12, 0.01)! > 3841, 'a stricter level needs more')
  t.equal(recipientsPerVariant(0.1, 0.1, 0.05), null, 'equal CTRs: no number is enough')
  // At that size the observed difference is significant, as the plan says it would be.
  const n = recipientsPerVariant(0.1, 0.12, 0.05)!
  t.ok(twoProportionTest(Math.round(0.12 * n), n, Math.round(0.1 * n), n).pValue < 0.05)
})
