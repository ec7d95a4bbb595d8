import { PLANNED_POWER, recipientsPerVariant, type campaignVariants } from '../analytics/ab-test.js'
import type { campaignRollUp, kindRollUp } from '../analytics/rollups.js'
import { html, type Html } from './html.js'
import { bandChart, figure, messagesTable, page, type Chrome, type MessageRow } from './pages.js'

type CampaignRollUp = Awaited<ReturnType<typeof campaignRollUp>>
type KindRollUp = Awaited<ReturnType<typeof kindRollUp>>
type Variants = Awaited<ReturnType<typeof campaignVariants>>

function bandOf(figures: CampaignRollUp | KindRollUp) {
  const b = figures.benchmark
  return b === null ? null : { from: b.ctrFrom, to: b.ctrTo, source: b.source }
}

const POSITION = { below: 'below the band', within: 'within the band', above: 'above the band' }

function rollUpFigures(figures: CampaignRollUp | KindRollUp): Html {
  return html`<dl class="metrics">
      <div class="metric">
        <dt>Messages</dt>
        <dd>${figure(figures.messages, 'count')}</dd>
      </div>
      <div class="metric">
        <dt>Recipients</dt>
        <dd>${figure(figures.recipients, 'count')}</dd>
      </div>
      <div class="metric">
        <dt>Delivered</dt>
        <dd>${figure(figures.delivered, 'count')}</dd>
      </div>
      <div class="metric">
        <dt>Unique clickers</dt>
        <dd>${figure(figures.uniqueClickers, 'count')}</dd>
      </div>
      <div class="metric">
        <dt>CTR</dt>
        <dd>
          ${figure(figures.ctr, 'percent')}${
            figures.position === null ? '' : html`<small>${POSITION[figures.position]}</small>`
          }
        </dd>
      </div>
      <div class="metric">
        <dt>Unsubscribe rate</dt>
        <dd>
          ${figure(figures.unsubscribeRate, 'percent')}<small>${figure(figures.unsubscribes, 'count')} opted out</small>
        </dd>
      </div>
    </dl>
    ${bandChart(figures.ctr, bandOf(figures))}`
}

function verdict(variants: Variants): Html {
  if (variants.variants.length < 2) return html`<p class="muted">Fewer than two variants: nothing to compare.</p>`
  if (variants.winner !== null) {
    return html`<p class="verdict win">
      <strong>Winner: ${variants.winner}</strong>, better than every other variant at the
      ${figure(variants.significanceLevel, 'percent')} significance level.
    </p>`
  }
  const best = variants.variants.find((v) => v.variant === variants.best)
  if (best === undefined || best.ctr === null) {
    return html`<p class="verdict"><strong>Not significant yet.</strong> No variant has recipients yet.</p>`
  }
  // The closest challenger decides how far the test still has to go.
  const challenger = variants.variants
    .filter((v) => v.pValue !== null && v.ctr !== null)
    .sort((a, b) => b.pValue! - a.pValue!)[0]
  const needed =
    challenger === undefined ? null : recipientsPerVariant(best.ctr, challenger.ctr!, variants.significanceLevel)
  const reach = (v: Variants['variants'][number]) => v.delivered ?? v.recipients
  return html`<p class="verdict">
    <strong>Not significant yet.</strong> ${best.variant} leads, but the difference could still be chance.
    ${
      challenger === undefined
        ? ''
        : needed === null
          ? html`${best.variant} and ${challenger.variant} have the same CTR so far: more recipients alone will not tell
            them apart.`
          : html`At the CTRs seen so far, telling ${best.variant} from ${challenger.variant} at the
              ${figure(variants.significanceLevel, 'percent')} level (${figure(PLANNED_POWER, 'percent')} power) takes
              about <span data-needed>${figure(needed, 'count')}</span> recipients per variant:
              ${figure(Math.max(0, needed - reach(best)), 'count')} more for ${best.variant},
              ${figure(Math.max(0, needed - reach(challenger)), 'count')} more for ${challenger.variant}.`
    }
  </p>`
}

export function campaignPage(
  chrome: Chrome,
  data: { rollUp: CampaignRollUp; variants: Variants; rows: MessageRow[]; more: string | null },
): string {
  const { rollUp, variants, rows } = data
  const body = html`<p class="crumbs"><a href="/dashboard">Messages</a></p>
    <h1>Campaign ${rollUp.campaign}</h1>
    ${rollUp.kind === null ? html`<p class="muted">Messages of several kinds.</p>` : html`<p class="meta"><span class="kind">${rollUp.kind}</span></p>`}
    ${rollUpFigures(rollUp)}
    <section class="card">
      <h2>Variants</h2>
      ${verdict(variants)}
      ${
        variants.variants.length === 0
          ? ''
          : html`<div class="scroll" tabindex="0" role="region" aria-label="Variants">
              <table class="small">
                <thead>
                  <tr>
                    <th scope="col">Variant</th>
                    <th scope="col" class="n">Recipients</th>
                    <th scope="col" class="n">Delivered</th>
                    <th scope="col" class="n">Unique clickers</th>
                    <th scope="col" class="n">CTR</th>
                    <th scope="col" class="n">p-value vs best</th>
                  </tr>
                </thead>
                <tbody>
                  ${variants.variants.map(
                    (v) =>
                      html`<tr>
                        <td>
                          ${v.variant}${v.variant === variants.best ? html` <span class="variant">best</span>` : ''}
                        </td>
                        <td class="n">${figure(v.recipients, 'count')}</td>
                        <td class="n">${figure(v.delivered, 'count')}</td>
                        <td class="n">${figure(v.uniqueClickers, 'count')}</td>
                        <td class="n">${figure(v.ctr, 'percent')}</td>
                        <td class="n">${v.pValue === null ? '—' : figure(v.pValue, 'count')}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </section>
    <section class="card">
      <h2>Messages</h2>
      ${messagesTable(rows, 'Messages of the campaign')}
      ${data.more === null ? '' : html`<p><a href="${data.more}">All messages of the campaign</a></p>`}
    </section>`
  return page(`Campaign ${rollUp.campaign}`, chrome, body)
}

const KIND_TITLES = { campaign: 'Campaigns', flow: 'Flows', transactional: 'Transactional' }

export function overviewPage(chrome: Chrome, kinds: KindRollUp[]): string {
  const body = html`<h1>Overview</h1>
    <p>The last 30 days, per kind of message, against the published CTR benchmark bands.</p>
    ${kinds.map(
      (k) =>
        html`<section class="card">
          <h2>${KIND_TITLES[k.kind]}</h2>
          ${
            k.messages === 0
              ? html`<p class="muted">No ${k.kind} messages in the last 30 days.</p>`
              : html`${rollUpFigures(k)}
                  <p><a href="/dashboard?kind=${k.kind}&amp;period=30d">The messages</a></p>`
          }
        </section>`,
    )}`
  return page('Overview', chrome, body)
}
