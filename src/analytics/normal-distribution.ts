/**
 * The error function by Abramowitz and Stegun, Handbook of Mathematical Functions,
 * formula 7.1.26: absolute error below 1.5 × 10⁻⁷, plenty for a p-value.
 */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1
  const a = Math.abs(x)
  const t = 1 / (1 + 0.3275911 * a)
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
  return sign * (1 - poly * Math.exp(-a * a))
}

/** The standard normal cumulative distribution function Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2))
}

/** Two-sided p-value of a z statistic: P(|Z| ≥ |z|). */
export function twoSidedP(z: number): number {
  return Math.min(1, Math.max(0, 2 * (1 - normalCdf(Math.abs(z)))))
}

/** The z with normalCdf(z) = p (0 < p < 1), by bisection: exact to well below what any verdict shows. */
export function normalQuantile(p: number): number {
  let low = -40
  let high = 40
  for (let i = 0; i < 100; i++) {
    const mid = (low + high) / 2
    if (normalCdf(mid) < p) low = mid
    else high = mid
  }
  return (low + high) / 2
}
