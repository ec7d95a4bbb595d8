import { notFound } from '../errors.js'
import type { Config } from '../config.js'
import type { MessageTotals, Store } from '../db/store.js'
import { rate } from '../clicks/stats.js'
import { normalQuantile, twoSidedP } from './normal-distribution.js'

/**
 * Two-proportion z-test (pooled): are x1/n1 and x2/n2 different? Returns the z
 * statistic and the two-sided p-value; with no variance at all (both 0 % or both
 * 100 %) there is no evidence of a difference: z 0, p 1.
 */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number): { z: number; pValue: number } {
  const pooled = (x1 + x2) / (n1 + n2)
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
  if (!(se > 0)) return { z: 0, pValue: 1 }
  const z = (x1 / n1 - x2 / n2) / se
  return { z, pValue: twoSidedP(z) }
}

/** The power sample sizes are planned for: an 80 % chance of seeing a difference that is there. */
export const PLANNED_POWER = 0.8

/**
 * Recipients each of two variants needs for a two-sided two-proportion test at
 * significance `alpha` to tell CTRs p1 and p2 apart with PLANNED_POWER (the usual
 * normal-approximation formula, pooled under the null). Null when the CTRs are equal:
 * no number of recipients tells equal rates apart.
 */
export function recipientsPerVariant(p1: number, p2: number, alpha: number): number | null {
  if (p1 === p2) return null
  const pooled = (p1 + p2) / 2
  const zAlpha = normalQuantile(1 - alpha / 2)
  const zPower = normalQuantile(PLANNED_POWER)
  const spread = zAlpha * Math.sqrt(2 * pooled * (1 - pooled)) + zPower * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
  return Math.ceil((spread * spread) / ((p1 - p2) * (p1 - p2)))
}

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places

interface VariantResult {
  variant: string
  messages: number
  recipients: number
  delivered: number | null
  uniqueClickers: number
  ctr: number | null
  /** Against the best variant; null for the best itself and for variants nobody was sent. */
  pValue: number | null
}

/**
 * A campaign's A/B test: each variant's reach and unique clickers, each compared with
 * the best variant (highest CTR). The best is the winner only when every other
 * variant differs from it at the configured significance level. With more than two
 * variants that is several tests at once, without correction: the level is per test.
 */
export async function campaignVariants(
  store: Store,
  config: Pick<Config, 'abSignificance'>,
  tenantId: number,
  campaign: string,
) {
  const totals = await store.variantTotals(tenantId, campaign)
  if (totals.length === 0 && (await store.campaignTotals(tenantId, campaign)).messages === 0) throw notFound('campaign')
  const ctrOf = (v: MessageTotals) => (v.reach > 0 ? v.uniqueClickers / v.reach : null)
  const ranked = totals.filter((v) => v.reach > 0).sort((a, b) => ctrOf(b)! - ctrOf(a)!)
  const best = ranked[0]
  const variants = totals.map((v): VariantResult => {
    const tested = best !== undefined && v !== best && v.reach > 0
    return {
      variant: v.variant,
      messages: v.messages,
      recipients: v.recipients,
      delivered: v.reportedMessages > 0 ? v.delivered : null,
      uniqueClickers: v.uniqueClickers,
      ctr: rate(v.uniqueClickers, v.reach),
      pValue: tested
        ? round(twoProportionTest(best.uniqueClickers, best.reach, v.uniqueClickers, v.reach).pValue, 6)
        : null,
    }
  })
  const others = variants.filter((v) => v.pValue !== null)
  const significant = others.length > 0 && others.every((v) => v.pValue! < config.abSignificance)
  return {
    campaign,
    significanceLevel: config.abSignificance,
    best: best?.variant ?? null,
    winner: significant ? best!.variant : null,
    variants,
  }
}
