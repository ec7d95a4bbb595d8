/**
 * The click write alone, in process: 100,000 classified clicks (human with
 * recipients, repeats, a twentieth bots) written into a fresh SQLite file in
 * batches of 5,000, as the click writer thread writes them. Prints clicks per
 * second for each of three runs and their median. Not part of the service.
 * BENCH_SWEEP=1: the message was just sent, so the sweep rule judges every human click
 * (docs/adr/0084); the settle passes that count them are timed with the writes.
 *
 *   npx tsx bench/click-write.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickRow } from '../src/click.js'
import { BurstRule } from '../src/clicks/burst.js'
import { recordClicks } from '../src/clicks/click-batch.js'
import { SETTLE_BATCH, settleSweeps } from '../src/clicks/settle-sweeps.js'
import { SqliteStore } from '../src/db/sqlite/index.js'

const CLICKS = Number(process.env.BENCH_CLICKS ?? 100_000)
const RECIPIENTS = 100_000
const BATCH = 5_000
const RUNS = 3
const SWEEP = process.env.BENCH_SWEEP === '1'

const AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
]

async function run(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'click-write-'))
  try {
    const store = SqliteStore.open(join(dir, 'bench.db'), { cacheMiB: 16 })
    const tenant = await store.createTenant('ten_bench', 'Bench', 0)
    const domain = await store.addDomain(tenant.id, 's.bench.dk', 'https://s.bench.dk', 0)
    const createdAt = SWEEP ? Date.now() : Date.now() - 3_600_000
    const { message } = await store.createMessage({
      publicId: 'msg_bench',
      tenantId: tenant.id,
      domainId: domain.id,
      externalId: null,
      kind: 'campaign',
      campaign: null,
      variant: null,
      createdAt,
      links: [
        { publicId: 'lnk_a', code: 'aaaaaa', url: 'https://shop.dk/a' },
        { publicId: 'lnk_b', code: 'bbbbbb', url: 'https://shop.dk/b' },
      ],
      unsubscribeCode: null,
      expiresAt: null,
      language: null,
      text: null,
      stripScheme: false,
      utm: null,
      clickIdParam: null,
    })
    await store.addRecipients(
      message.id,
      Array.from({ length: RECIPIENTS }, (_, i) => `r${i}`),
    )
    const sweep = { minRecipients: 8, spanMs: 20_000, windowMs: 600_000, fastGapMs: 200, maxGapVariation: 0.25 }
    const rules = new BurstRule({
      tooFastMs: 2_000,
      burstWindowMs: 10_000,
      maxTokens: 100_000,
      sweep: SWEEP ? sweep : undefined,
    })
    const clicks: ClickRow[] = []
    const start = Date.now()
    for (let i = 0; i < CLICKS; i++) {
      const bot = i % 20 === 0
      clicks.push({
        at: start + i,
        messageId: message.id,
        linkId: message.links[i % 2]!.id,
        recipientIdx: (i * 7919) % RECIPIENTS,
        class: bot ? 'bot' : 'human',
        reason: bot ? 'bot_user_agent' : null,
        userAgent: AGENTS[i % 2]!,
        network: `198.51.${i % 200}.0/24`,
        clickId: null,
        device: bot ? null : 'mobile',
        os: bot ? null : i % 2 ? 'Android' : 'iOS',
        browser: bot ? null : i % 2 ? 'Chrome' : 'Mobile Safari',
      })
    }
    const started = performance.now()
    for (let from = 0; from < clicks.length; from += BATCH) {
      await recordClicks(store, clicks.slice(from, from + BATCH), rules)
    }
    while ((await settleSweeps(store, Number.MAX_SAFE_INTEGER, rules)) === SETTLE_BATCH);
    const seconds = (performance.now() - started) / 1000
    const counters = await store.messageCounters(message.id)
    if (counters.clicks.total + counters.clicks.bots !== CLICKS) throw new Error('clicks missing')
    await store.close()
    return CLICKS / seconds
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const rates: number[] = []
for (let i = 0; i < RUNS; i++) {
  const rate = await run()
  rates.push(rate)
  console.log(`run ${i + 1}: ${Math.round(rate)} clicks/s`)
}
rates.sort((a, b) => a - b)
console.log(`median: ${Math.round(rates[Math.floor(RUNS / 2)]!)} clicks/s`)
