import type { MessageStats } from '../clicks/stats.js'
import type { CtrBand } from '../analytics/benchmarks.js'
import type { Message, MessageKind } from '../db/store.js'
import { html, Html } from './html.js'

/** URLs of the dashboard's static files, with a content hash so a new version is never read from a cache. */
export interface AssetUrls {
  css: string
  js: string
  chartCss: string
  chartJs: string
}

/** What every signed-in page's header needs: the sign-out form's CSRF token. */
export interface Chrome {
  assets: AssetUrls
  csrfToken: string | null
}

type Format = 'count' | 'percent'

const COUNT = new Intl.NumberFormat('en')
const PERCENT = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 2 })

/**
 * A figure as the page shows it: the exact value in data-value (what tests compare with
 * the API), and text the page script formats again for the viewer's locale.
 */
export function figure(value: number | null, format: Format, metric?: string): Html {
  const text = value === null ? '—' : format === 'percent' ? PERCENT.format(value) : COUNT.format(value)
  return html`<span
    class="num"
    ${metric ? html` data-metric="${metric}"` : ''}
    data-format="${format}"
    data-value="${value === null ? '' : String(value)}"
    >${text}</span
  >`
}

/** A time the page script shows in the viewer's zone (or UTC); UTC in the markup. */
export function time(ms: number): Html {
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`
}

export function page(title: string, chrome: Chrome, body: Html, options: { charts?: boolean } = {}): string {
  const { assets } = chrome
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="referrer" content="same-origin" />
        <title>${title} · smslinks</title>
        <link rel="stylesheet" href="${assets.css}" />
        ${
          options.charts
            ? html`<link rel="stylesheet" href="${assets.chartCss}" />
                <script src="${assets.chartJs}" defer></script>`
            : ''
        }
        <script src="${assets.js}" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/dashboard">smslinks</a>
          ${
            chrome.csrfToken === null
              ? ''
              : html`<nav aria-label="Dashboard">
                    <a href="/dashboard/overview">Overview</a> <a href="/dashboard">Messages</a>
                  </nav>
                  <button type="button" class="link" data-time-zone-switch aria-pressed="false">
                    Times: your zone
                  </button>
                  <form method="post" action="/dashboard/sign-out" class="sign-out">
                    <input type="hidden" name="_csrf" value="${chrome.csrfToken}" /><button type="submit">
                      Sign out
                    </button>
                  </form>`
          }
        </header>
        <main id="main">${body}</main>
      </body>
    </html> `.markup
}

export function signInPage(chrome: Chrome, options: { error?: string; next?: string } = {}): string {
  return page(
    'Sign in',
    chrome,
    html`<h1>Sign in</h1>
      <p>
        Sign in with one of your API keys. The key is exchanged for a session cookie and is not kept in the browser.
      </p>
      ${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
      <form method="post" action="/dashboard/sign-in" class="sign-in">
        <input type="hidden" name="_csrf" value="${chrome.csrfToken ?? ''}" />
        ${options.next ? html`<input type="hidden" name="next" value="${options.next}" />` : ''}
        <label for="apiKey">API key</label>
        <input
          id="apiKey"
          name="apiKey"
          type="password"
          autocomplete="current-password"
          required
          maxlength="200"
          spellcheck="false"
        />
        <button type="submit">Sign in</button>
      </form>`,
  )
}

export function errorPage(chrome: Chrome, status: number, message: string): string {
  const title = status === 404 ? 'Not found' : status === 429 ? 'Too many attempts' : `Error ${status}`
  return page(
    title,
    chrome,
    html`<h1>${title}</h1>
      <p role="alert">${message}</p>
      <p><a href="/dashboard">Messages</a></p>`,
  )
}

const KINDS: MessageKind[] = ['campaign', 'flow', 'transactional']

export const PERIODS = {
  all: 'Any time',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
}
export type Period = keyof typeof PERIODS

export interface ListFilter {
  campaign?: string
  kind?: MessageKind
  period: Period
}

export interface MessageRow {
  message: Message
  stats: MessageStats
}

function option(value: string, label: string, selected: boolean): Html {
  return html`<option value="${value}" ${selected ? html` selected` : ''}>${label}</option>`
}

function campaignLabel(message: Message): Html {
  if (message.campaign === null) return html`<span class="muted">—</span>`
  return html`<a href="/dashboard/campaigns/${encodeURIComponent(message.campaign)}">${message.campaign}</a>${
      message.variant === null ? '' : html` <span class="variant">${message.variant}</span>`
    }`
}

/** A table of messages with their figures, newest first: the list, and a campaign's messages. */
export function messagesTable(rows: MessageRow[], label: string): Html {
  return html`<div class="scroll" tabindex="0" role="region" aria-label="${label}">
    <table class="list">
      <thead>
        <tr>
          <th scope="col">Sent</th>
          <th scope="col">Message</th>
          <th scope="col">Campaign</th>
          <th scope="col" class="n">Recipients</th>
          <th scope="col" class="n">Delivered</th>
          <th scope="col" class="n">Unique clickers</th>
          <th scope="col" class="n">CTR</th>
          <th scope="col" class="n">Unsubscribe rate</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          ({ message, stats }) =>
            html`<tr>
              <td>${time(message.createdAt)}</td>
              <td>
                <a href="/dashboard/messages/${message.publicId}">${message.externalId ?? message.publicId}</a>
                <span class="kind">${message.kind}</span>
              </td>
              <td>${campaignLabel(message)}</td>
              <td class="n">${figure(stats.recipients, 'count')}</td>
              <td class="n">${figure(stats.delivered, 'count')}</td>
              <td class="n">${figure(stats.clicks.unique, 'count')}</td>
              <td class="n">${figure(stats.ctr, 'percent')}</td>
              <td class="n">${figure(stats.unsubscribeRate, 'percent')}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`
}

export function messagesPage(chrome: Chrome, filter: ListFilter, rows: MessageRow[], nextPage: string | null): string {
  const body = html`<h1>Messages</h1>
    <form method="get" action="/dashboard" class="filters" role="search" aria-label="Filter messages">
      <label>Campaign <input name="campaign" value="${filter.campaign ?? ''}" maxlength="128" /></label>
      <label
        >Kind
        <select name="kind">
          ${option('', 'Any', filter.kind === undefined)}${KINDS.map((k) => option(k, k, filter.kind === k))}
        </select></label
      >
      <label
        >Period
        <select name="period">
          ${Object.entries(PERIODS).map(([value, label]) => option(value, label, filter.period === value))}
        </select></label
      >
      <button type="submit">Filter</button>
    </form>
    ${rows.length === 0 ? html`<p>No messages match.</p>` : messagesTable(rows, 'Messages')}
    ${nextPage === null ? '' : html`<p class="pager"><a href="${nextPage}" rel="next">Older messages</a></p>`}`
  return page('Messages', chrome, body)
}

/** A small SVG bar: the benchmark band shaded, the CTR a mark. No inline style, so the CSP needs none. */
export function bandChart(ctr: number | null, band: CtrBand | null): Html {
  if (band === null) return html`<p class="muted">No published benchmark band for this kind.</p>`
  const top = Math.max(0.2, band.to * 1.25, (ctr ?? 0) * 1.1)
  const x = (value: number) => ((value / top) * 100).toFixed(2)
  const label = `CTR ${ctr === null ? 'unknown' : PERCENT.format(ctr)} against the benchmark band ${PERCENT.format(band.from)} to ${PERCENT.format(band.to)}`
  return html`<svg class="band" viewBox="0 0 100 12" preserveAspectRatio="none" role="img" aria-label="${label}">
      <title>${label}</title>
      <rect x="0" y="3" width="100" height="6" class="track"></rect>
      <rect
        x="${x(band.from)}"
        y="1"
        width="${(Number(x(band.to)) - Number(x(band.from))).toFixed(2)}"
        height="10"
        class="range"
      ></rect>
      ${ctr === null ? '' : html`<rect x="${Math.min(99.4, Number(x(ctr))).toFixed(2)}" y="0" width="0.8" height="12" class="mark"></rect>`}
    </svg>
    <p class="band-legend">
      Benchmark band ${figure(band.from, 'percent')}–${figure(band.to, 'percent')}
      <span class="muted">(${band.source})</span>
    </p>`
}
