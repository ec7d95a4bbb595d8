import { execFile } from 'node:child_process'
import t from 'tap'
import { tempDatabasePath, UA } from '../helpers.js'
import { entryPoint, processEnv } from '../fixtures/paths.js'
import { serverRequest, startServer, type ServerProcess, type ServerRequest } from '../fixtures/server-process.js'
import { eventually } from '../fixtures/webhook-receiver.js'

/** The promise this suite checks: a change made by the CLI reaches a running service within a second. */
const WITHIN_MS = 1_000

/** `smslinks <args>` as its own process on the service's database file; its JSON output. */
function cli(databasePath: string, ...args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...entryPoint('cli'), ...args],
      { env: processEnv({ DATABASE_PATH: databasePath, ADMIN_TOKEN: '', METRICS_TOKEN: '' }) },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${args.join(' ')}: ${stderr}`)) : resolve(JSON.parse(stdout)),
    )
  })
}

/** A request as a phone or a sender's server makes it. */
const send = (server: ServerProcess, options: ServerRequest) =>
  serverRequest(server, { userAgent: UA.iphoneSafari, ...options })

t.test('a domain added and a key revoked by the CLI take effect in a running service within a second', async (t) => {
  const databasePath = tempDatabasePath(t)
  const server = await startServer(t, databasePath)
  const key = server.apiKey!
  const { tenants } = await cli(databasePath, 'tenant', 'list')
  const tenantId: string = tenants[0].id
  const host = 's.brand.test'

  const before = await send(server, { method: 'POST', path: '/v1/messages', key, body: newMessage(host) })
  t.equal(before.status, 400, 'the service does not know the domain yet')
  t.match(JSON.parse(before.body), { error: 'unknown_domain' })

  await cli(databasePath, 'domain', 'add', tenantId, host, '--scheme', 'http')
  let created: { status: number; body: string } | undefined
  await eventually(
    t,
    'a message on the new domain is accepted',
    async () => {
      created = await send(server, { method: 'POST', path: '/v1/messages', key, body: newMessage(host) })
      return created.status === 201
    },
    WITHIN_MS,
  )
  const link = new URL(JSON.parse(created!.body).recipients[0].links[0] as string)
  t.equal(link.host, host)
  const redirect = await send(server, { path: link.pathname, host })
  t.equal(redirect.status, 302, 'and its links redirect, without a restart')
  t.equal(redirect.location, 'https://shop.dk/a')

  const made = await cli(databasePath, 'key', 'create', tenantId, 'partner')
  t.equal((await send(server, { path: '/v1/messages', key: made.key })).status, 200, 'a new key works at once')
  await cli(databasePath, 'key', 'revoke', tenantId, made.id)
  await eventually(
    t,
    'the revoked key is refused',
    async () => (await send(server, { path: '/v1/messages', key: made.key })).status === 401,
    WITHIN_MS,
  )
  t.equal((await send(server, { path: '/v1/messages', key })).status, 200, 'other keys still work')
})

function newMessage(domain: string) {
  return { domain, links: [{ url: 'https://shop.dk/a' }], recipients: ['alice'] }
}
