import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { ADMIN_TOKEN, startApp } from '../helpers.js'
import { ROOT } from '../fixtures/paths.js'

const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)
const run = promisify(execFile)

/** Runs a command to its end without blocking the event loop (the service answers from this process). */
async function command(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  try {
    const { stdout, stderr } = await run(file, args, { ...options, encoding: 'utf8', timeout: 180_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

// Generating the types, type-checking and running a program take most of a minute on
// their own, longer beside the rest of the suite: more than .taprc's 120 s per file.
t.setTimeout(360_000)

t.test('a client generated from /openapi.json type-checks and runs a first session', async (t) => {
  const app = await startApp(t, {
    // A test taps within milliseconds of creating the message; a quick flush keeps the wait short.
    // The program calls the API on 127.0.0.1, which API_HOSTS makes one of the service's own hosts.
    env: { TOO_FAST_MS: '0', CLICK_FLUSH_INTERVAL_MS: '20', API_HOSTS: '127.0.0.1' },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo

  // A directory of its own: the served document, the generated types, the program, and
  // the repository's node_modules (for openapi-fetch and @types/node).
  const dir = mkdtempSync(join(tmpdir(), 'smslinks-client-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'openapi.json'), (await app.inject({ url: '/openapi.json' })).body)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  copyFileSync(join(ROOT, 'test/fixtures/client/first-session.ts'), join(dir, 'first-session.ts'))

  const generated = await command(bin('openapi-typescript'), ['openapi.json', '--output', 'schema.d.ts'], { cwd: dir })
  t.equal(generated.code, 0, 'openapi-typescript generates the types', { output: generated.stderr })
  t.ok(existsSync(join(dir, 'schema.d.ts')), 'schema.d.ts is written')

  const typecheck = await command(
    bin('tsc'),
    [
      '--strict',
      '--noEmit',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
      'first-session.ts',
    ],
    { cwd: dir },
  )
  t.equal(typecheck.code, 0, 'the program type-checks against the generated types', {
    output: typecheck.stdout + typecheck.stderr,
  })

  const session = await command(bin('tsx'), ['first-session.ts'], {
    cwd: dir,
    env: { ...process.env, SMSLINKS_URL: `http://127.0.0.1:${port}`, SMSLINKS_ADMIN_TOKEN: ADMIN_TOKEN },
  })
  t.equal(session.code, 0, 'the program runs to its end', { output: session.stderr })
  const report = JSON.parse(session.stdout.trim().split('\n').at(-1) ?? 'null')
  t.equal(report.domain, `127.0.0.1:${port}`, 'the domain is the host the service listens on')
  t.match(report.message, { id: /^msg_/, recipients: 3, links: 1 })
  t.equal(report.tap.status, 302, 'the tap is redirected, not followed')
  t.equal(report.tap.location, 'https://shop.example.dk/sale', "to the text's URL")
  t.same(report.unsubscribed, [true, true], 'both other recipients unsubscribed')
  t.same(
    report.stats,
    { total: 1, unique: 1, ctr: 0.3333, confirmed: 2, firstLinkUnique: 1 },
    'the stats count the tap as a unique click of one recipient in three',
  )
  t.same(report.optOuts, ['cust-1002', 'cust-1003'], 'the opt-out feed lists both, oldest first')
  t.same(
    report.pages,
    [
      { count: 1, hasMore: true },
      { count: 1, hasMore: false },
    ],
    'one opt-out a page, then no more',
  )
})
