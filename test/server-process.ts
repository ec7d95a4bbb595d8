import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { Test } from 'tap'

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface ServerProcess {
  child: ChildProcess
  base: string
  /** The first start's API key, from the log (undefined on a later start). */
  apiKey: string | undefined
}

/**
 * Runs the real server (`node --import tsx src/server.ts`) on 127.0.0.1 and a free
 * port (or the one given: a restart must come back on the port its domain names), with
 * its own database; resolves once it listens. Killed, if still running,
 * when the test ends.
 */
export async function startServer(
  t: Test,
  databasePath: string,
  env: Record<string, string> = {},
  port?: number,
): Promise<ServerProcess> {
  port ??= await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      // A port of its own for each server: tests run side by side.
      METRICS_PORT: '0',
      DATABASE_PATH: databasePath,
      ADMIN_TOKEN: '',
      LOG_LEVEL: 'info',
      // Tests tap links milliseconds after creating them; a person could not (see TOO_FAST_MS).
      TOO_FAST_MS: '0',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let output = ''
  child.stdout.setEncoding('utf8')
  const apiKey = await new Promise<string | undefined>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)))
    child.stdout.on('data', (chunk: string) => {
      if (output.length < 100_000) output += chunk
      if (output.includes('Server listening')) resolve(/"apiKey":"(sl_\w+)"/.exec(output)?.[1])
    })
  })
  return { child, base, apiKey }
}
