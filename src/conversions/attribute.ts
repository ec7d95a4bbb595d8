import { ApiError, notFound } from '../errors.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Config } from '../config.js'
import type { Store, StoredConversion } from '../db/store.js'

export interface ConversionInput {
  id: string
  value: number
  currency: string
  clickId?: string
  message?: string
  recipient?: string
}

const DAY_MS = 86_400_000

const unattributable = (reason: string, message: string) => new ApiError(422, reason, message)

export function presentConversion(conversion: StoredConversion) {
  return {
    id: conversion.id,
    messageId: conversion.messagePublicId,
    recipient: conversion.recipientId,
    clickId: conversion.clickId,
    clickAt: new Date(conversion.clickAt).toISOString(),
    value: conversion.value,
    currency: conversion.currency,
    at: new Date(conversion.at).toISOString(),
  }
}

/**
 * Attributes a conversion to a message: to the click whose id the landing page got,
 * or to the recipient's last human click on the message, either within the
 * attribution window before now. The sender's conversion id makes a retry safe: a
 * repeat returns the first result, attributed or not since.
 */
export async function attributeConversion(
  { store, recorder, config }: { store: Store; recorder: ClickRecorder; config: Pick<Config, 'attributionWindowDays'> },
  tenantId: number,
  input: ConversionInput,
) {
  const existing = await store.findConversion(tenantId, input.id)
  if (existing) return { conversion: presentConversion(existing), created: false }

  const byClick = input.clickId !== undefined
  const byRecipient = input.message !== undefined || input.recipient !== undefined
  if (byClick === byRecipient || (byRecipient && (input.message === undefined || input.recipient === undefined))) {
    throw new ApiError(400, 'invalid_request', 'give either clickId, or message and recipient')
  }
  // A tap a moment before the order may still be queued: write it first.
  await recorder.flush()
  const now = Date.now()
  const windowStart = now - config.attributionWindowDays * DAY_MS
  let messageId: number
  let recipientIdx: number | null
  let clickAt: number
  if (byClick) {
    const click = await store.findClick(input.clickId!)
    const owner = click ? await store.messageOwner(click.messageId) : null
    if (!click || owner?.tenantId !== tenantId) throw unattributable('unknown_click', 'no click has this clickId')
    if (click.class !== 'human') throw unattributable('click_not_human', `the click was a ${click.class}, not a person`)
    messageId = click.messageId
    recipientIdx = click.recipientIdx
    clickAt = click.at
  } else {
    const message = await store.getMessage(tenantId, input.message!)
    if (!message) throw notFound('message')
    recipientIdx = await store.recipientIndexOf(message.id, input.recipient!)
    if (recipientIdx === null) throw unattributable('unknown_recipient', 'the message has no such recipient')
    const last = await store.lastHumanClick(message.id, recipientIdx)
    if (last === null) throw unattributable('no_human_click', 'the recipient never clicked this message as a person')
    messageId = message.id
    clickAt = last
  }
  if (clickAt < windowStart) {
    throw unattributable(
      'outside_attribution_window',
      `the last human click was more than ${config.attributionWindowDays} days ago (ATTRIBUTION_WINDOW_DAYS)`,
    )
  }
  const { conversion, created } = await store.recordConversion({
    tenantId,
    id: input.id,
    messageId,
    recipientIdx,
    clickId: input.clickId ?? null,
    clickAt,
    value: input.value,
    currency: input.currency,
    at: now,
  })
  return { conversion: presentConversion(conversion), created }
}
