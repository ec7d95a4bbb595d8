import type { DeliveryReportResult, DeliveryStatus, Store } from '../db/store.js'
import { ApiError, notFound } from '../errors.js'
import { inSlices } from '../slices.js'

/** Reports applied per transaction, between two turns of the event loop. */
const REPORTS_PER_SLICE = 2_000

export interface DeliveryReportInput {
  recipient: string
  status: DeliveryStatus
  /** ISO time of the report; the time of this call when left out. */
  at?: string
}

/**
 * Applies an SMS gateway's delivery reports to a message. Each recipient keeps its
 * latest report, so repeats and out-of-order reports never double-count. Recipient
 * ids the message does not have are returned so the sender can see what it sent wrong.
 * A large call is applied a slice at a time; since the latest report wins, a retry of
 * a call cut short applies the rest and changes nothing else.
 */
export async function applyDeliveryReports(
  store: Store,
  clock: () => number,
  tenantId: number,
  messagePublicId: string,
  reports: DeliveryReportInput[],
) {
  const message = await store.getMessage(tenantId, messagePublicId)
  if (!message) throw notFound('message')
  const now = clock()
  const parsed = reports.map((report, i) => {
    const at = report.at === undefined ? now : Date.parse(report.at)
    if (Number.isNaN(at))
      throw new ApiError(400, 'invalid_request', `reports[${i}].at must be an ISO time such as 2026-11-23T13:05:00Z`)
    return { recipientId: report.recipient, status: report.status, at, arrival: report.at === undefined }
  })
  const result: DeliveryReportResult = { applied: 0, outdated: 0, unknownRecipients: [] }
  await inSlices(parsed, REPORTS_PER_SLICE, async (slice) => {
    const part = await store.applyDeliveryReports(message.id, slice)
    result.applied += part.applied
    result.outdated += part.outdated
    for (const id of part.unknownRecipients) result.unknownRecipients.push(id)
  })
  return result
}
