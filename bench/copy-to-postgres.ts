/**
 * How long `smslinks copy-to-postgres` takes over a database with many clicks: one
 * message of 100,000 recipients and BENCH_COPY_CLICKS clicks (default 1,000,000,
 * filled in SQL by fill-clicks.ts), copied by the CLI as a process into a scratch
 * database on BENCH_PG_URL's server (default postgres://postgres@127.0.0.1:5432/test),
 * dropped at the end. Prints the CLI's result, its peak memory and the load average.
 *
 *   npx tsx bench/copy-to-postgres.ts
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { SqliteStore } from '../src/db/sqlite/index.js'
import { fillClicks } from './fill-clicks.js'

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const CLICKS = Number(process.env.BENCH_COPY_CLICKS ?? 1_000_000)
const RECIPIENTS = 100_000

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'copy-bench-'))
  const path = join(dir, 'smslinks.db')
  const name = `smslinks_bench_copy_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    const store = SqliteStore.open(path)
    const tenant = await store.createTenant('ten_copy', 'Copy', 0)
    const domain = await store.addDomain(tenant.id, 's.copy.dk', 'https://s.copy.dk', 0)
    const { message } = await store.createMessage({
      publicId: 'msg_copy',
      tenantId: tenant.id,
      domainId: domain.id,
      externalId: null,
      kind: 'campaign',
      campaign: null,
      variant: null,
      language: null,
      createdAt: Date.now() - 86_400_000,
      links: [{ publicId: 'lnk_copy', code: 'copy01', url: 'https://shop.dk' }],
      unsubscribeCode: null,
      expiresAt: null,
      text: null,
      stripScheme: false,
      utm: null,
      clickIdParam: null,
    })
    await store.addRecipients(
      message.id,
      Array.from({ length: RECIPIENTS }, (_, i) => `cust-${i}`),
    )
    await store.close()
    fillClicks(path, 'msg_copy', CLICKS)
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(ADMIN_URL)
    url.pathname = `/${name}`
    const load = loadavg()[0]!
    const started = performance.now()
    // /usr/bin/time -f: the CLI's peak resident memory, to show that rows stream.
    const run = spawnSync(
      '/usr/bin/time',
      ['-f', '%M', process.execPath, '--import', 'tsx', 'src/cli.ts', 'copy-to-postgres'],
      { env: { ...process.env, DATABASE_PATH: path, DATABASE_URL: url.toString() }, encoding: 'utf8' },
    )
    const seconds = (performance.now() - started) / 1000
    if (run.status !== 0) throw new Error(run.stderr)
    const result = JSON.parse(run.stdout) as { rows: number }
    const peakKiB = Number(run.stderr.trim().split('\n').pop())
    console.log(
      `copied ${result.rows.toLocaleString('en')} rows (${CLICKS.toLocaleString('en')} clicks) in ${seconds.toFixed(1)} s, ` +
        `peak RSS ${Math.round(peakKiB / 1024)} MB; load average ${load.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} ` +
        `on ${cpus().length} cores`,
    )
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
