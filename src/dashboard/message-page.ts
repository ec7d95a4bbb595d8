import { seriesBucketSpan } from '../click-series.js'
import type { MessageStats } from '../clicks/stats.js'
import type { Message } from '../db/store.js'
import { shareWithin } from '../first-click-delay.js'
import { html, type Html } from './html.js'
import { figure, page, time, type Chrome } from './pages.js'

/** A message younger than this refreshes its page itself, so a person can watch a send land. */
export const YOUNG_MS = 3_600_000

/** The moments since sending at which the share of clickers reached is shown. */
const REACHED_BY: Array<[string, number]> = [
  ['1 minute', 60],
  ['3 minutes', 180],
  ['10 minutes', 600],
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['7 days', 604_800],
]

export interface MessagePageData {
  message: Message
  stats: MessageStats
  /** message_click_series rows: human clicks per bucket since creation. */
  series: Array<{ bucket: number; clicks: number }>
  /** The first-click histogram (bucket → recipients), from the counters. */
  firstClicks: Map<number, number>
  now: number
}

function counts(title: string, values: Record<string, number>): Html {
  const entries = Object.entries(values).sort(([, a], [, b]) => b - a)
  return html`<section class="card">
    <h3>${title}</h3>
    ${
      entries.length === 0
        ? html`<p class="muted">No human clicks yet.</p>`
        : html`<table class="small">
            <thead>
              <tr>
                <th scope="col">${title}</th>
                <th scope="col" class="n">Clicks</th>
              </tr>
            </thead>
            <tbody>
              ${entries.map(
                ([name, n]) =>
                  html`<tr>
                    <td>${name}</td>
                    <td class="n">${figure(n, 'count')}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`
}

function headline(label: string, value: Html, note?: Html): Html {
  return html`<div class="metric">
    <dt>${label}</dt>
    <dd>${value}${note ? html`<small>${note}</small>` : ''}</dd>
  </div>`
}

/**
 * Cumulative human clicks at the end of each bucket that has clicks, as [times, totals]
 * in milliseconds since the epoch: the clicks-over-time chart's data.
 */
export function cumulativeSeries(
  createdAt: number,
  now: number,
  rows: MessagePageData['series'],
): [number[], number[]] {
  const times = [createdAt]
  const totals = [0]
  let sum = 0
  for (const { bucket, clicks } of rows) {
    const [, end] = seriesBucketSpan(bucket)
    sum += clicks
    times.push(Math.min(createdAt + end, Math.max(now, createdAt + seriesBucketSpan(bucket)[0] + 1)))
    totals.push(sum)
  }
  // The line runs on to now, so the chart spans the time since sending even without clicks.
  if (now > times[times.length - 1]!) {
    times.push(now)
    totals.push(sum)
  }
  return [times, totals]
}

export function messagePage(chrome: Chrome, data: MessagePageData): string {
  const { message, stats, now } = data
  const c = stats.clicks
  const young = now - message.createdAt < YOUNG_MS
  const [times, totals] = cumulativeSeries(message.createdAt, now, data.series)
  const reasons = Object.entries(c.byReason).filter(([, n]) => n > 0)
  const revenue = Object.entries(stats.revenue)
  const title = message.campaign ?? message.externalId ?? message.publicId
  const body = html`<div
    data-page="message"
    ${young ? html` data-refresh-until="${String(message.createdAt + YOUNG_MS)}"` : ''}
  >
    <p class="crumbs">
      <a href="/dashboard">Messages</a>${
        message.campaign === null
          ? ''
          : html` › <a href="/dashboard/campaigns/${encodeURIComponent(message.campaign)}">${message.campaign}</a>`
      }
    </p>
    <h1>${title}${message.variant === null ? '' : html` <span class="variant">${message.variant}</span>`}</h1>
    <p class="meta">
      <span class="kind">${message.kind}</span> sent ${time(message.createdAt)} · <code>${message.publicId}</code>${
        message.externalId === null ? '' : html` · ${message.externalId}`
      }
    </p>
    ${young ? html`<p class="live" aria-live="polite">This message is less than an hour old: the page refreshes itself every 15 seconds. <button type="button" class="link" data-refresh-toggle>Pause</button></p>` : ''}
    <dl class="metrics">
      ${headline('Recipients', figure(stats.recipients, 'count', 'recipients'))}
      ${headline('Delivered', figure(stats.delivered, 'count', 'delivered'), html`delivery rate ${figure(stats.deliveryRate, 'percent')}`)}
      ${headline('Unique clickers', figure(c.unique, 'count', 'unique'))}
      ${headline('CTR', figure(stats.ctr, 'percent', 'ctr'), html`of ${stats.delivered === null ? 'recipients' : 'delivered'}`)}
      ${headline('Clicks', figure(c.total, 'count', 'clicks'), html`by people, repeats included`)}
      ${headline('Bots excluded', figure(c.bots, 'count', 'bots'))}
      ${headline('Previews excluded', figure(c.previews, 'count', 'previews'))}
      ${headline('Unsubscribe rate', figure(stats.unsubscribeRate, 'percent', 'unsubscribeRate'), html`${figure(stats.unsubscribes.total, 'count')} opted out (${figure(stats.unsubscribes.bySource.link, 'count')} on the page, ${figure(stats.unsubscribes.bySource.reply, 'count')} by reply), ${figure(stats.unsubscribes.linkVisits, 'count')} page visits`)}
      ${headline('Conversions', figure(stats.conversions, 'count'), html`rate ${figure(stats.conversionRate, 'percent')}${revenue.map(([currency, amount]) => html` · ${figure(amount, 'count')} ${currency}`)}`)}
    </dl>
    <section class="card">
      <h2>Excluded clicks by reason</h2>
      ${
        c.pending > 0
          ? html`<p class="muted">
              ${figure(c.pending, 'count')} clicks of the first minutes are still being judged (sweeps by scanners);
              they count within a minute.
            </p>`
          : ''
      }
      ${
        reasons.length === 0
          ? html`<p class="muted">None: no bot, preview or HEAD request has fetched these links.</p>`
          : html`<table class="small">
              <thead>
                <tr>
                  <th scope="col">Reason</th>
                  <th scope="col" class="n">Clicks</th>
                </tr>
              </thead>
              <tbody>
                ${reasons.map(
                  ([reason, n]) =>
                    html`<tr>
                      <td><code>${reason}</code></td>
                      <td class="n">${figure(n, 'count')}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    <section class="card">
      <h2 id="over-time">Clicks over time</h2>
      <figure aria-labelledby="over-time">
        <div
          class="chart"
          data-chart="clicks-over-time"
          data-times="${JSON.stringify(times)}"
          data-totals="${JSON.stringify(totals)}"
          role="img"
          aria-label="Human clicks since sending, cumulative: ${String(c.total)} in all"
        ></div>
        <figcaption>Human clicks since sending, added up (minutes in the first hour, then hours).</figcaption>
      </figure>
      <h3>Share of clickers reached</h3>
      <table class="small">
        <thead>
          <tr>
            <th scope="col">Within</th>
            <th scope="col" class="n">Of all clickers so far</th>
          </tr>
        </thead>
        <tbody>
          ${REACHED_BY.map(
            ([label, seconds]) =>
              html`<tr>
                <td>${label} of sending</td>
                <td class="n">${figure(shareWithin(data.firstClicks, seconds), 'percent')}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>
    <section class="card">
      <h2>Links</h2>
      <div class="scroll" tabindex="0" role="region" aria-label="Links">
        <table class="small">
          <thead>
            <tr>
              <th scope="col">Destination</th>
              <th scope="col" class="n">Clicks</th>
              <th scope="col" class="n">Unique</th>
              <th scope="col" class="n">Bots</th>
              <th scope="col" class="n">Previews</th>
            </tr>
          </thead>
          <tbody>
            ${stats.links.map(
              (link) =>
                html`<tr>
                  <td class="url">${link.url}</td>
                  <td class="n">${figure(link.clicks.total, 'count')}</td>
                  <td class="n">${figure(link.clicks.unique, 'count')}</td>
                  <td class="n">${figure(link.clicks.bots, 'count')}</td>
                  <td class="n">${figure(link.clicks.previews, 'count')}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>
    <h2>Devices</h2>
    <div class="cards">
      ${counts('Device', stats.breakdowns.device)} ${counts('Operating system', stats.breakdowns.os)}
      ${counts('Browser', stats.breakdowns.browser)}
    </div>
    <p>
      <a class="button" href="/dashboard/messages/${message.publicId}/clicks.csv" download>Download the clicks (CSV)</a>
    </p>
  </div>`
  return page(title, chrome, body, { charts: true })
}
