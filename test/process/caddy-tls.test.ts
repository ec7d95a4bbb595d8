import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import {
  admin,
  createTenant,
  flushClicks,
  freePort,
  json,
  postMessage,
  startApp,
  stats,
  tempDatabasePath,
  UA,
} from '../helpers.js'

const CADDY = process.env.CADDY_BINARY ?? '/usr/bin/caddy'
/** The address a phone has, as an upstream load balancer in front of Caddy would pass it on. */
const PHONE_ADDRESS = '198.51.100.23'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function listening(port: number, ms = 15_000): Promise<void> {
  const until = Date.now() + ms
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => resolve(socket.destroy() && true))
      socket.once('error', () => resolve(false))
    })
    if (up) return
    if (Date.now() > until) throw new Error(`nothing listens on ${port} after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Caddy in front of `appPort`, with its own data and config folders, random ports, no
 * admin endpoint, its internal CA and on-demand TLS that asks the service. Killed by
 * its PID when the test ends.
 */
async function startCaddy(t: Test, appPort: number) {
  const dir = mkdtempSync(join(tmpdir(), 'smslinks-caddy-'))
  const [httpPort, httpsPort] = [await freePort(), await freePort()]
  const caddyfile = join(dir, 'Caddyfile')
  writeFileSync(
    caddyfile,
    `{
	admin off
	http_port ${httpPort}
	https_port ${httpsPort}
	default_bind 127.0.0.1
	skip_install_trust
	on_demand_tls {
		ask http://127.0.0.1:${appPort}/tls/check
	}
}
https:// {
	tls {
		issuer internal
		on_demand
	}
	reverse_proxy 127.0.0.1:${appPort} {
		# The test stands for a load balancer in front of Caddy: its X-Forwarded-For is believed.
		trusted_proxies 127.0.0.1/32
	}
}
`,
  )
  const child = spawn(CADDY, ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (log.length < 200_000) log += chunk
  })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const exited = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code) => reject(new Error(`caddy exited with ${code}:\n${log}`))),
  )
  await Promise.race([listening(httpsPort), exited])
  const root = join(dir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt')
  await Promise.race([
    (async () => {
      while (!existsSync(root)) await new Promise((resolve) => setTimeout(resolve, 50))
    })(),
    exited,
  ])
  return { httpPort, httpsPort, ca: readFileSync(root, 'utf8'), log: () => log }
}

/** An HTTPS request to 127.0.0.1 for `host` (SNI and Host), trusting only Caddy's internal root. */
function viaTls(caddy: { httpsPort: number; ca: string }, host: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port: caddy.httpsPort,
        servername: host,
        path,
        ca: caddy.ca,
        headers: {
          host: `${host}:${caddy.httpsPort}`,
          'user-agent': UA.iphoneSafari,
          'x-forwarded-for': PHONE_ADDRESS,
        },
        agent: false,
      },
      (response) => {
        let body = ''
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
      },
    )
    request.on('error', reject)
    request.end()
  })
}

function viaPlainHttp(port: number, host: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (response) => {
      response
        .resume()
        .on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' }))
    })
      .on('error', reject)
      .end()
  })
}

if (!existsSync(CADDY)) {
  t.plan(0, `no Caddy at ${CADDY}: the on-demand TLS test is skipped (apt-get install caddy)`)
} else {
  t.test('Caddy gets certificates on demand for tenant domains only, and passes the client on', async (t) => {
    const databasePath = tempDatabasePath(t)
    const app = await startApp(t, {
      databasePath,
      // Caddy asks from 127.0.0.1 and forwards from there.
      env: { API_HOSTS: '127.0.0.1', TRUST_PROXY: '127.0.0.1' },
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const appPort = (app.server.address() as { port: number }).port
    const { tenantId, key } = await createTenant(app, 's.brand.test')
    const caddy = await startCaddy(t, appPort)

    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/sale' }], recipients: ['a'] }))
    const link = new URL(message.recipients[0].links[0])
    t.equal(link.host, 's.brand.test', 'the short link is on the tenant domain')

    const tapped = await viaTls(caddy, 's.brand.test', link.pathname)
    t.equal(tapped.status, 302, 'a certificate was issued and the short link answers over HTTPS')
    t.equal(tapped.headers.location, 'https://shop.dk/sale')
    t.equal(tapped.headers['cache-control'], 'private, max-age=0')
    await flushClicks(app)
    t.match((await stats(app, key, message.id)).clicks, { total: 1, unique: 1 }, 'the tap counted')
    const db = new Database(databasePath, { readonly: true })
    t.same(db.prepare('SELECT network FROM clicks').all(), [{ network: '198.51.100.0/24' }], "the phone's network")
    db.close()

    // A name no tenant has: the service says no, so Caddy has no certificate to offer.
    await t.rejects(
      viaTls(caddy, 's.stranger.test', link.pathname),
      { code: 'EPROTO', message: /alert internal error/ },
      'the handshake fails: no certificate for an unknown name',
    )
    t.notMatch(caddy.log(), /s\.stranger\.test/, 'Caddy obtained nothing for it')
    t.match(caddy.log(), /certificate obtained successfully","identifier":"s\.brand\.test"/)

    // The service's own routes are not on a tenant's domain, through Caddy either.
    const asked = await viaTls(caddy, 's.brand.test', '/tls/check?domain=s.brand.test')
    t.equal(asked.status, 404)
    t.match(asked.body, /This link does not work/)

    // A domain added through the API gets a certificate with both processes still running:
    // refused before, issued after.
    await t.rejects(viaTls(caddy, 's.later.test', '/'), { code: 'EPROTO' }, 'not yet a tenant domain')
    const other = json(
      await app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantId}/domains`,
        headers: admin,
        payload: { host: 's.later.test' },
      }),
    )
    t.equal(other.host, 's.later.test')
    const later = json(
      await postMessage(app, key, {
        domain: 's.later.test',
        links: [{ url: 'https://shop.dk/later' }],
        recipients: ['b'],
      }),
    )
    const laterTap = await viaTls(caddy, 's.later.test', new URL(later.recipients[0].links[0]).pathname)
    t.equal(laterTap.status, 302, 'the new domain has a certificate and redirects')
    t.equal(laterTap.headers.location, 'https://shop.dk/later')

    const plain = await viaPlainHttp(caddy.httpPort, 's.brand.test', link.pathname)
    t.equal(plain.status, 308, 'plain HTTP is sent to HTTPS')
    t.match(plain.headers.location, /^https:\/\/s\.brand\.test/)
  })
}
