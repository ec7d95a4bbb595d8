import t, { type Test } from 'tap'
import { twoProportionTest } from '../../src/analytics/ab-test.js'
import { erf, normalCdf, twoSidedP } from '../../src/analytics/normal-distribution.js'

// Reference values from standard normal tables (to 7 places).
const close = (t: Test, actual: number, expected: number, name: string, tolerance = 2e-7) =>
  t.ok(Math.abs(actual - expected) <= tolerance, `${name}: ${actual} ≈ ${expected}`)

t.test('the erf approximation (Abramowitz–Stegun 7.1.26) against known values', async (t) => {
  close(t, erf(0), 0, 'erf(0)', 1e-9)
  close(t, erf(0.5), 0.5204999, 'erf(0.5)')
  close(t, erf(1), 0.8427008, 'erf(1)')
  close(t, erf(2), 0.9953223, 'erf(2)')
  close(t, erf(-1), -0.8427008, 'erf is odd')
})

t.test('Φ and two-sided p-values against tables', async (t) => {
  close(t, normalCdf(0), 0.5, 'Φ(0)', 1e-9)
  close(t, normalCdf(1), 0.8413447, 'Φ(1)')
  close(t, normalCdf(-1), 0.1586553, 'Φ(-1)')
  close(t, normalCdf(1.959964), 0.975, 'Φ(1.96)')
  close(t, normalCdf(3), 0.9986501, 'Φ(3)')
  close(t, twoSidedP(1.959964), 0.05, 'p at z = 1.96', 5e-7)
  close(t, twoSidedP(-2.575829), 0.01, 'p at z = -2.58', 5e-7)
  close(t, twoSidedP(0), 1, 'p at z = 0', 1e-8)
  t.ok(twoSidedP(40) >= 0, 'never negative far in the tail')
})

t.test('the two-proportion z-test', async (t) => {
  // 40/200 against 10/200: pooled 0.125, se 0.033072, z 4.5356.
  const strong = twoProportionTest(40, 200, 10, 200)
  close(t, strong.z, 4.5356, 'z', 1e-4)
  t.ok(strong.pValue < 1e-5, 'a clear difference')
  // 3/20 against 2/20: z 0.4781, p 0.6326.
  close(t, twoProportionTest(3, 20, 2, 20).pValue, 0.6326, 'a small sample', 1e-4)
  t.same(twoProportionTest(0, 100, 0, 100), { z: 0, pValue: 1 }, 'no variance, no evidence')
})
