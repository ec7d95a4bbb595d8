import { once } from 'node:events'
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import t from 'tap'
import { tempDatabasePath } from '../helpers.js'
import { freePort, startServer } from '../fixtures/server-process.js'

/** An IPv4 address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address
}

t.test('the real server serves /metrics on its own port, bound to loopback', async (t) => {
  const metricsPort = await freePort()
  // The main port on every interface, so that a refusal on the metrics port is the binding's doing.
  const server = await startServer(t, tempDatabasePath(t), { HOST: '0.0.0.0', METRICS_PORT: String(metricsPort) })

  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(scrape.status, 200)
  t.match(scrape.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await scrape.text()
  t.match(text, /^smslinks_click_queue_depth 0$/m, 'what npm run bench reads')
  t.match(text, /^smslinks_clicks_dropped_total 0$/m)

  const main = await fetch(`${server.base}/metrics`)
  t.equal(main.status, 404, 'the main port has no /metrics without METRICS_TOKEN')
  t.notMatch(await main.text(), /smslinks_/)

  const outside = outsideAddress()
  if (outside === undefined) {
    t.comment('no non-loopback IPv4 address on this machine: the refusal from outside is not checked')
  } else {
    const port = new URL(server.base).port
    t.equal((await fetch(`http://${outside}:${port}/healthz`)).status, 200, `the main port answers on ${outside}`)
    await t.rejects(fetch(`http://${outside}:${metricsPort}/metrics`), `the metrics port does not on ${outside}`)
  }
  server.child.kill('SIGTERM')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0, 'stops cleanly with both listeners')
})

t.test('a METRICS_PORT already in use stops start-up', async (t) => {
  const busy = createServer().listen(0, '127.0.0.1')
  await once(busy, 'listening')
  t.teardown(() => busy.close())
  const { port } = busy.address() as { port: number }
  await t.rejects(
    startServer(t, tempDatabasePath(t), { METRICS_PORT: String(port) }),
    /server exited with 1[\s\S]*EADDRINUSE[\s\S]*could not start/,
  )
})
