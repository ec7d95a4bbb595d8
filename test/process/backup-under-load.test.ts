import Database from 'better-sqlite3'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import t from 'tap'
import { tempDatabasePath, UA } from '../helpers.js'
import { entryPoint, processEnv } from '../fixtures/paths.js'
import { startServer } from '../fixtures/server-process.js'

function backup(databasePath: string, file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...entryPoint('cli'), 'backup', file],
      { env: processEnv({ DATABASE_PATH: databasePath, ADMIN_TOKEN: '' }) },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

t.test('an online backup taken while taps are being written is a consistent copy', async (t) => {
  const databasePath = tempDatabasePath(t)
  // Flushing every 10 ms: the backup runs while commits land all the time.
  const server = await startServer(t, databasePath, { CLICK_FLUSH_INTERVAL_MS: '10' })
  const created = await fetch(`${server.base}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
    // Enough recipients that the copy spans several backup steps.
    body: JSON.stringify({
      links: [{ url: 'https://shop.dk' }],
      recipients: Array.from({ length: 20_000 }, (_, i) => `recipient-${i}`),
    }),
  })
  t.equal(created.status, 201)
  const message = (await created.json()) as { recipients: Array<{ links: string[] }> }

  let taps = 0
  let stop = false
  const load = (async () => {
    while (!stop) {
      const response = await fetch(message.recipients[taps % 20_000]!.links[0]!, {
        redirect: 'manual',
        headers: { 'user-agent': UA.androidChrome },
      })
      await response.arrayBuffer()
      if (response.status === 302) taps++
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const file = join(tempDatabasePath(t), '..', 'backup.db')
  const tapsBefore = taps
  const result = await backup(databasePath, file)
  const tapsAfter = taps
  stop = true
  await load
  t.equal(result.code, 0, result.stderr)
  t.ok(tapsAfter > tapsBefore, `taps went on during the backup (${tapsAfter - tapsBefore})`)

  const copy = new Database(file, { readonly: true })
  t.teardown(() => copy.close())
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok', 'the copy opens and is intact')
  const clicks = copy.prepare('SELECT count(*) FROM clicks').pluck().get() as number
  const counted = copy.prepare('SELECT clicks_total FROM message_counters').pluck().get() as number
  t.equal(counted, clicks, 'counters match the raw clicks in the copy: a snapshot between two flushes')
  t.equal(copy.prepare('SELECT count(*) FROM recipients').pluck().get(), 20_000)
  t.ok(clicks <= tapsAfter, `the copy holds clicks up to the moment it was taken (${clicks} of ${tapsAfter})`)
  t.comment(`backup under load: ${tapsAfter - tapsBefore} taps during the backup; the copy holds ${clicks} clicks`)

  server.child.kill('SIGTERM')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0, 'the service kept running and stopped cleanly')
})
