// `npm test`: lint, type check + build (test/build.mjs), then every test file, compiled,
// each in a node process of its own, a few at a time. Lint runs beside the type check
// and the tests, its output held back and printed at the end. The exit code is the
// first failure's.
//
// The test files are tap files run as plain node programs, not under tap's runner: the
// runner loads its process-info hook into every test process and every process a test
// spawns, which cost more CPU than most test files use themselves (docs/adr/0065).
// `npx tap <file>` still runs any file or folder under tap, as test/README.md says.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, relative } from 'node:path'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const started = Date.now()

function run(command, args, options = {}) {
  const child = spawn(command, args, { shell: process.platform === 'win32', ...options })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += chunk))
  child.stderr?.on('data', (chunk) => (output += chunk))
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output }))) }
}

/** Every compiled test file, slowest kinds first so that the last ones to start are short. */
function testFiles() {
  const order = ['browser', 'process', 'api', 'store', 'unit']
  const files = []
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.test.js')) files.push(path)
    }
  }
  walk('.build/test')
  const rank = (file) => {
    const kind = order.indexOf(relative('.build/test', file).split('/')[0])
    return kind === -1 ? order.length : kind
  }
  return files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

/** tap's closing line in a file's output: `# { total: 39, pass: 39 }`. */
function counts(output) {
  const match = /^# (\{ total: .*\})$/m.exec(output)
  if (match === null) return { total: 0, pass: 0, fail: 0 }
  const read = (key) => Number(new RegExp(`${key}: (\\d+)`).exec(match[1])?.[1] ?? 0)
  return { total: read('total'), pass: read('pass'), fail: read('fail') }
}

/** Runs the files `jobs` at a time; prints one line a file, and the whole output of a failing one. */
async function runTests(files, jobs) {
  const totals = { total: 0, pass: 0, fail: 0 }
  const failed = []
  let next = 0
  const env = { ...process.env, TAP_TIMEOUT: process.env.TAP_TIMEOUT ?? '120' }
  async function worker() {
    while (next < files.length) {
      const file = files[next++]
      const t0 = Date.now()
      const { done } = run(process.execPath, ['--enable-source-maps', file], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      const { code, output } = await done
      const c = counts(output)
      totals.total += c.total
      totals.pass += c.pass
      totals.fail += c.fail
      const seconds = ((Date.now() - t0) / 1000).toFixed(1).padStart(6)
      const name = relative('.build/test', file)
      if (code === 0 && c.fail === 0) {
        console.log(`ok     ${seconds}s  ${name} (${c.pass} assertions)`)
      } else {
        failed.push(name)
        console.log(`not ok ${seconds}s  ${name} (exit code ${code}, ${c.fail} failed)\n${output}`)
      }
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker))
  return { totals, failed }
}

const lint = run(npm, ['run', 'lint'], { stdio: ['ignore', 'pipe', 'pipe'] }).done
let { code } = await run(npm, ['run', 'build:test'], { stdio: 'inherit' }).done
if (code === 0) {
  // One PostgreSQL for the run (unless TEST_DATABASE_URL names one): the hooks find it by
  // their parent's pid, which is this process for them and for every test file.
  const hook = (name) =>
    run(process.execPath, ['--import=./test/ts-loader.mjs', `test/fixtures/${name}.ts`], { stdio: 'inherit' }).done
  ;({ code } = await hook('postgres-before'))
  if (code === 0) {
    const jobs = Number(process.env.TEST_JOBS) || availableParallelism()
    const files = testFiles()
    const { totals, failed } = await runTests(files, jobs)
    await hook('postgres-after')
    const seconds = Math.round((Date.now() - started) / 1000)
    console.log(`\n# ${files.length} files, ${jobs} at a time, ${seconds} s since npm test started`)
    console.log(`# { total: ${totals.total}, pass: ${totals.pass}, fail: ${totals.fail} }`)
    if (failed.length > 0) {
      console.log(`# failed:\n${failed.map((name) => `#   ${name}`).join('\n')}`)
      code = 1
    }
  }
}
const linted = await lint
process.stdout.write(linted.output)
if (linted.code !== 0) console.error('npm run lint failed')
process.exit(code || linted.code)
