import type { FastifyBaseLogger } from 'fastify'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Store } from '../db/store.js'

export type NotReadyReason = 'database_not_writable' | 'click_queue_full'

export interface Readiness {
  ready: boolean
  reasons: NotReadyReason[]
}

/**
 * Whether this instance should get traffic: it can write clicks (the database takes a
 * write) and its click queue has room. A full queue still redirects, but every tap
 * it takes is a lost count, so a load balancer with another instance should prefer that one.
 */
export async function checkReadiness(
  store: Store,
  recorder: ClickRecorder,
  log: FastifyBaseLogger,
): Promise<Readiness> {
  const reasons: NotReadyReason[] = []
  try {
    await store.checkWritable()
  } catch (err) {
    // The probe's answer says only "not writable"; the cause is for the operator's log.
    log.warn({ err }, 'readiness: the database does not take writes')
    reasons.push('database_not_writable')
  }
  if (recorder.depth >= recorder.capacity) reasons.push('click_queue_full')
  return { ready: reasons.length === 0, reasons }
}
