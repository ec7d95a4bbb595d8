import type { DeliveryReport, DeliveryReportResult, DeliveryStatus } from './db/store.js'

/** What a recipient's row says of its delivery. */
export interface StoredDelivery {
  status: DeliveryStatus | null
  at: number | null
}

/** What a batch of reports does: its result, and how the message's counters move. */
export interface ReportsOutcome {
  result: DeliveryReportResult
  delivered: number
  failed: number
  /** The latest time among the reports applied; null when none was. */
  latest: number | null
}

/**
 * The rule of delivery reports, for both backends: each recipient keeps its latest
 * report, whatever order a gateway sends them in, so repeats and late reports never
 * count twice. Reports apply in the order given, each against what the ones before it
 * left: `current` gives a recipient's delivery as it stands (undefined: not a recipient
 * of the message) and `keep` records a report that wins, before the next is read.
 */
export function applyLatestReports<D extends StoredDelivery>(
  reports: readonly DeliveryReport[],
  current: (recipientId: string) => D | undefined,
  keep: (delivery: D, report: DeliveryReport) => void,
): ReportsOutcome {
  const outcome: ReportsOutcome = {
    result: { applied: 0, outdated: 0, unknownRecipients: [] },
    delivered: 0,
    failed: 0,
    latest: null,
  }
  const move = (status: DeliveryStatus | null, by: number) => {
    if (status === 'delivered') outcome.delivered += by
    else if (status === 'failed') outcome.failed += by
  }
  for (const report of reports) {
    const delivery = current(report.recipientId)
    if (delivery === undefined) {
      outcome.result.unknownRecipients.push(report.recipientId)
      continue
    }
    if (delivery.at !== null && report.at < delivery.at) {
      outcome.result.outdated++
      continue
    }
    move(delivery.status, -1)
    move(report.status, +1)
    outcome.latest = Math.max(outcome.latest ?? report.at, report.at)
    outcome.result.applied++
    keep(delivery, report)
  }
  return outcome
}
