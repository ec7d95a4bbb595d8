import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startApp } from '../helpers.js'
import { ROOT } from '../fixtures/paths.js'

interface LintReport {
  totals: { errors: number; warnings: number }
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[]
}

/** Runs `redocly lint` from the repository root, so redocly.yaml applies, and returns its JSON report. */
function redoclyLint(file: string): LintReport {
  const run = spawnSync(join(ROOT, 'node_modules/.bin/redocly'), ['lint', '--format=json', file], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    timeout: 120_000,
  })
  if (run.error) throw run.error
  try {
    return JSON.parse(run.stdout) as LintReport
  } catch {
    throw new Error(`redocly lint gave no JSON report (exit ${run.status}): ${run.stdout}\n${run.stderr}`)
  }
}

t.test("/openapi.json passes Redocly's recommended lint without an error or a warning", async (t) => {
  // A deployment's address: the lint warns about a localhost server, which is PUBLIC_URL's default.
  // METRICS_TOKEN puts /metrics on the main port, so the lint sees every operation.
  const app = await startApp(t, {
    env: { PUBLIC_URL: 'https://links.brand.dk', METRICS_TOKEN: 'metrics-token-for-the-lint' },
  })
  const response = await app.inject({ url: '/openapi.json', headers: { host: 'links.brand.dk' } })
  t.equal(response.statusCode, 200)
  const dir = mkdtempSync(join(tmpdir(), 'smslinks-openapi-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'openapi.json')
  writeFileSync(file, response.body)

  const report = redoclyLint(file)
  const problems = report.problems.map(
    (p) => `${p.severity} ${p.ruleId} at ${p.location.map((l) => l.pointer).join(', ')}: ${p.message}`,
  )
  t.same(problems, [], 'no problems')
  t.equal(report.totals.errors, 0, 'no errors')
  t.equal(report.totals.warnings, 0, 'no warnings')
})
