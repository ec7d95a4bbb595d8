import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { entryPoint, processEnv } from '../fixtures/paths.js'

t.test('a malformed DATABASE_URL stops the server with one line and exit code 1', async (t) => {
  // Started from a temp folder so that no .env of the checkout is read.
  const cwd = t.testdir({})
  const child = spawn(process.execPath, entryPoint('server'), {
    cwd,
    env: processEnv({ DATABASE_URL: 'mysql://smslinks:secretpw@db/smslinks', PORT: '0', METRICS_PORT: 'off' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  t.equal(code, 1)
  t.equal(
    stderr,
    'smslinks: DATABASE_URL must start with postgres:// or postgresql:// (got "mysql://…")\n',
    'one line, no stack trace, no password',
  )
})
