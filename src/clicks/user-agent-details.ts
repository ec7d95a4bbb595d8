import { UAParser } from 'ua-parser-js'

export interface UserAgentDetails {
  /** mobile, tablet, desktop, smarttv, console, wearable, embedded, xr, or unknown. */
  device: string
  /** e.g. iOS, Android, Windows; unknown when ua-parser-js cannot tell. */
  os: string
  /** e.g. Mobile Safari, Chrome; unknown when ua-parser-js cannot tell. */
  browser: string
}

/**
 * ua-parser-js runs dozens of regular expressions per call (tens of microseconds),
 * while a send's taps come from a few thousand distinct user agents: each is parsed
 * once and remembered. Cleared when full, like the classifier's memory.
 */
const MEMORY = 5_000
const remembered = new Map<string, UserAgentDetails>()

/** ua-parser-js leaves the device type out for desktops; these systems only run on them. */
const DESKTOP_SYSTEMS = new Set([
  'Windows',
  'Mac OS',
  'macOS',
  'Linux',
  'Ubuntu',
  'Debian',
  'Fedora',
  'Chrome OS',
  'Chromium OS',
])

function parse(userAgent: string): UserAgentDetails {
  const result = new UAParser(userAgent).getResult()
  const os = result.os.name ?? 'unknown'
  return {
    device: result.device.type ?? (DESKTOP_SYSTEMS.has(os) ? 'desktop' : 'unknown'),
    os,
    browser: result.browser.name ?? 'unknown',
  }
}

/** Device type, OS and browser of a user agent; null without one. */
export function describeUserAgent(userAgent: string | null): UserAgentDetails | null {
  if (userAgent === null) return null
  let details = remembered.get(userAgent)
  if (details) return details
  details = parse(userAgent)
  if (remembered.size >= MEMORY) remembered.clear()
  remembered.set(userAgent, details)
  return details
}
