// `npm test`: lint, type check + build (test/build.mjs), then every tap test on the
// compiled files. Lint runs beside the type check and the tests, its output held back
// and printed at the end: both are single-threaded, and the machine has a core for each.
// The exit code is the first failure's.
import { spawn } from 'node:child_process'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run(command, args, stdio) {
  const child = spawn(command, args, { stdio, shell: process.platform === 'win32' })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += chunk))
  child.stderr?.on('data', (chunk) => (output += chunk))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output })))
}

const lint = run(npm, ['run', 'lint'], ['ignore', 'pipe', 'pipe'])
let { code } = await run(npm, ['run', 'build:test'], 'inherit')
if (code === 0) ({ code } = await run(npm, ['exec', '--', 'tap', '.build/test/**/*.test.js'], 'inherit'))
const linted = await lint
process.stdout.write(linted.output)
if (linted.code !== 0) console.error('npm run lint failed')
process.exit(code || linted.code)
