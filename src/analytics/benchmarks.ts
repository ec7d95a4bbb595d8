import type { MessageKind } from '../db/store.js'

/** A published reference range of CTR for one kind of SMS, as fractions. */
export interface CtrBand {
  from: number
  to: number
  source: string
}

/**
 * Published SMS marketing benchmarks: campaigns 8.9–14.5 % CTR, automated
 * flows 10.9–14.9 %. Nobody publishes one for transactional texts, whose links
 * (tracking, receipts) are tapped for other reasons: no band rather than a made-up one.
 */
export const CTR_BANDS: Record<MessageKind, CtrBand | null> = {
  campaign: { from: 0.089, to: 0.145, source: 'published SMS marketing benchmarks, campaigns' },
  flow: { from: 0.109, to: 0.149, source: 'published SMS marketing benchmarks, automated flows' },
  transactional: null,
}

export type BandPosition = 'below' | 'within' | 'above'

/** Where a CTR stands against a band; null without a CTR or a band. Edges count as within. */
export function positionIn(band: CtrBand | null, ctr: number | null): BandPosition | null {
  if (band === null || ctr === null) return null
  if (ctr < band.from) return 'below'
  return ctr > band.to ? 'above' : 'within'
}
