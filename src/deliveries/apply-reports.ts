import type { DeliveryStatus, Store } from '../db/store.js'
import { ApiError, notFound } from '../errors.js'

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
    return { recipientId: report.recipient, status: report.status, at }
  })
  return store.applyDeliveryReports(message.id, parsed)
}
