import { isbot } from 'isbot'
import type { ClickClass } from '../click.js'

export interface Classification {
  class: ClickClass
  /** Why a click is not human; null for human. */
  reason: string | null
}

/**
 * Link-preview fetchers: apps that fetch a link to draw a card when a message
 * arrives or is shared. `isbot` knows them as bots; this list says which of them
 * are previews, so senders can see the two apart. Matched case-insensitively.
 */
const PREVIEW_FETCHERS =
  /facebookexternalhit|facebot|whatsapp|slackbot|telegrambot|twitterbot|discordbot|skypeuripreview|google-pagerenderer|linkedinbot|viber|snapchat|pinterest|redditbot|embedly|iframely|vkshare|mastodon|signal|line\/|kakaotalk|zalo|microsoftpreview|teams|bitlybot|outlook/i

/** Every reason a click can be stored with; stats list each, zeros included. */
export const CLICK_REASONS = [
  'head_request',
  'no_user_agent',
  'bot_user_agent',
  'preview_user_agent',
  'too_fast',
  'burst',
  'sweep',
] as const
export type ClickReason = (typeof CLICK_REASONS)[number]

const HUMAN: Classification = { class: 'human', reason: null }
const HEAD: Classification = { class: 'bot', reason: 'head_request' }
const NO_USER_AGENT: Classification = { class: 'bot', reason: 'no_user_agent' }
const PREVIEW: Classification = { class: 'preview', reason: 'preview_user_agent' }
const BOT: Classification = { class: 'bot', reason: 'bot_user_agent' }

/** Remembered verdicts: a send's taps come from a few thousand distinct user agents. */
const MEMORY = 5_000
const verdicts = new Map<string, Classification>()

function byUserAgent(fullUserAgent: string): Classification {
  // Judged (and remembered) on its first 512 characters, as it is stored: a header of up
  // to 16 KiB must not make the verdict cache hold megabytes.
  const userAgent = fullUserAgent.length > 512 ? fullUserAgent.slice(0, 512) : fullUserAgent
  let verdict = verdicts.get(userAgent)
  if (verdict) return verdict
  if (!isbot(userAgent)) verdict = HUMAN
  else verdict = PREVIEW_FETCHERS.test(userAgent) ? PREVIEW : BOT
  if (verdicts.size >= MEMORY) verdicts.clear()
  verdicts.set(userAgent, verdict)
  return verdict
}

/**
 * Decides whether a request for a short link was a person. HEAD requests and
 * requests without a user agent are machines; so are user agents that `isbot`
 * recognises, with link previews told apart from other bots.
 */
export function classifyClick(head: boolean, userAgent: string | undefined): Classification {
  if (head) return HEAD
  if (userAgent === undefined || userAgent.trim() === '') return NO_USER_AGENT
  return byUserAgent(userAgent)
}
