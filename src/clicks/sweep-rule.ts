/**
 * The sweep rule (docs/adr/0084): a scanner fetching the links of many recipients of
 * one message from one network with one user agent, at a machine's cadence, is
 * `bot`/`sweep`; people sharing a carrier network are not. Clicks the rule judges are
 * written at once but count only when the settle pass (settle-sweeps.ts) judges them,
 * once every fetch that could change their verdict is written.
 */
import { createHash } from 'node:crypto'
import type { ClickRow } from '../click.js'
import type { ClickMessageFacts } from '../db/store.js'

/** The rule's thresholds (SWEEP_* settings; defaults explained in docs/figures.md). */
export interface SweepSettings {
  /** Fewest recipients in a neighbourhood for a sweep; 0 turns the rule off. */
  minRecipients: number
  /** A fetch's neighbourhood: the same identity's fetches this long either side of it. */
  spanMs: number
  /** Clicks this soon after a message's creation are judged. */
  windowMs: number
  /** A neighbourhood whose mean gap is at most this is machine-fast. */
  fastGapMs: number
  /** A neighbourhood whose gaps' coefficient of variation is at most this is machine-even. */
  maxGapVariation: number
}

/** The last identity worked out: consecutive judged clicks mostly share theirs (a scanner's fetches, a phone's taps). */
let last: { network: string; userAgent: string; identity: string } | null = null

/**
 * The identity a scanner keeps across its fetches: the stored network (never the
 * address) and the exact user agent, as a 64-bit hash so that a row stays small.
 * A run of clicks with the same network and user agent is hashed once.
 */
export function sweepIdentity(network: string, userAgent: string): string {
  if (last === null || network !== last.network || userAgent !== last.userAgent) {
    const identity = createHash('sha256').update(network).update('\u0000').update(userAgent).digest('hex').slice(0, 16)
    last = { network, userAgent, identity }
  }
  return last.identity
}

/**
 * Whether the rule judges a click: human by its user agent, from a checked recipient,
 * with a network and a user agent, soon after its message was created, of a message
 * with recipients enough to be swept (a transactional message's clicks count at once).
 * Decided from the click and its message alone, so any writer decides it alike.
 */
export function judgedBySweepRule(click: ClickRow, message: ClickMessageFacts, settings: SweepSettings): boolean {
  return (
    settings.minRecipients > 0 &&
    message.recipients >= settings.minRecipients &&
    click.class === 'human' &&
    click.recipientIdx !== null &&
    click.network !== null &&
    click.userAgent !== null &&
    click.at - message.createdAt < settings.windowMs
  )
}

/**
 * Whether a fetch at `at` is part of a sweep, from every fetch of its identity within
 * `spanMs` either side (`fetches`, its own included). Each recipient counts once, at
 * its earliest fetch there; the fetch is a sweep when enough recipients were fetched
 * and their fetches were machine-fast or machine-even. People sharing an identity tap
 * independently: their gaps vary about as much as their mean.
 */
export function isSweep(
  fetches: ReadonlyArray<{ recipientIdx: number; at: number }>,
  at: number,
  settings: SweepSettings,
): boolean {
  const earliest = new Map<number, number>()
  for (const fetch of fetches) {
    if (Math.abs(fetch.at - at) > settings.spanMs) continue
    const seen = earliest.get(fetch.recipientIdx)
    if (seen === undefined || fetch.at < seen) earliest.set(fetch.recipientIdx, fetch.at)
  }
  if (earliest.size < settings.minRecipients) return false
  const times = [...earliest.values()].sort((a, b) => a - b)
  const gaps = times.slice(1).map((time, i) => time - times[i]!)
  const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length
  if (mean <= settings.fastGapMs) return true
  const variance = gaps.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / gaps.length
  return Math.sqrt(variance) / mean <= settings.maxGapVariation
}

/**
 * Fetches of an identity looked at either side of a fetch, at most: a scanner hammering
 * one message puts hundreds of thousands of fetches within `spanMs`, and the cadence of
 * the nearest few hundred says as much as all of them, at a bounded cost per fetch.
 */
export const NEIGHBOURS_EACH_SIDE = 200

/** The first index of `times` (ascending) at or above `value`. */
function lowerBound(times: number[], value: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (times[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * isSweep for each of `ats`, over `neighbours` (every fetch of one identity around
 * them): sorted once, and each fetch judged on its neighbourhood within `spanMs`, cut
 * to the NEIGHBOURS_EACH_SIDE nearest fetches either side.
 */
export function sweepsAt(
  neighbours: ReadonlyArray<{ recipientIdx: number; at: number }>,
  ats: readonly number[],
  settings: SweepSettings,
): boolean[] {
  const sorted = [...neighbours].sort((a, b) => a.at - b.at)
  const times = sorted.map((fetch) => fetch.at)
  return ats.map((at) => {
    const here = lowerBound(times, at)
    const from = Math.max(lowerBound(times, at - settings.spanMs), here - NEIGHBOURS_EACH_SIDE)
    const to = Math.min(lowerBound(times, at + settings.spanMs + 1), here + NEIGHBOURS_EACH_SIDE + 1)
    return isSweep(sorted.slice(from, to), at, settings)
  })
}
