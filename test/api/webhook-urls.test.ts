import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { ResolveHost } from '../../src/webhooks/receiver-address.js'
import { bearer, createTenant, json, startApp, withEachBackend } from '../helpers.js'

const register = (app: FastifyInstance, key: string, url: string) =>
  app.inject({ method: 'POST', url: '/v1/webhooks', headers: bearer(key), payload: { url, events: ['click'] } })

/** A DNS of the test's own: names under .test resolve as this table says, others do not exist. */
const DNS: Record<string, string[]> = {
  'hooks.public.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'internal.test': ['127.0.0.1'],
  'mixed.test': ['93.184.215.14', '10.0.0.7'],
  'metadata.test': ['169.254.169.254'],
  'office.test': ['192.168.1.20'],
}
const resolveHost: ResolveHost = async (hostname) => {
  const addresses = DNS[hostname]
  if (addresses === undefined)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
}

async function world(t: Test, env: Record<string, string> = {}) {
  const app = await startApp(t, { env, resolveHost })
  const { key } = await createTenant(app)
  return { app, key }
}

withEachBackend(t, (t) => {
  t.test('a webhook URL must be https', async (t) => {
    const { app, key } = await world(t)
    const response = await register(app, key, 'http://hooks.public.test/in')
    t.equal(response.statusCode, 422)
    t.same(json(response), {
      error: 'webhook_url_not_https',
      message: 'url must start with https:// (plain http:// only with WEBHOOK_ALLOW_HTTP=true)',
    })
    t.equal((await register(app, key, 'https://hooks.public.test/in')).statusCode, 201)
    const allowed = await world(t, { WEBHOOK_ALLOW_HTTP: 'true' })
    t.equal((await register(allowed.app, allowed.key, 'http://hooks.public.test/in')).statusCode, 201, 'when allowed')
  })

  t.test('hostile addresses are refused at registration, and nothing is stored', async (t) => {
    const { app, key } = await world(t, { WEBHOOK_ALLOW_HTTP: 'true' })
    const cases: Array<[url: string, message: RegExp]> = [
      ['http://2130706433/', /^127\.0\.0\.1, a loopback address: webhooks are sent to public addresses only/],
      ['http://0x7f.1/', /^127\.0\.0\.1, a loopback address/],
      ['http://0177.0.0.1/', /^127\.0\.0\.1, a loopback address/],
      ['http://127.1:8080/admin', /^127\.0\.0\.1, a loopback address/],
      ['http://[::ffff:127.0.0.1]/', /^::ffff:7f00:1, a loopback address/],
      ['http://[::1]/', /^::1, a loopback address/],
      ['http://0.0.0.0/', /^0\.0\.0\.0, an unspecified address/],
      ['http://[::]/', /^::, an unspecified address/],
      ['http://169.254.169.254/latest/meta-data/', /^169\.254\.169\.254, a cloud metadata address/],
      ['http://[fd00:ec2::254]/', /^fd00:ec2::254, a cloud metadata address/],
      ['http://10.1.2.3/', /^10\.1\.2\.3, a private address.*WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows/],
      ['http://172.16.0.1/', /a private address/],
      ['http://192.168.0.1/', /a private address/],
      ['http://100.64.0.1/', /a carrier-grade NAT address/],
      ['http://169.254.1.1/', /a link-local address/],
      ['http://[fe80::1]/', /a link-local address/],
      ['http://[fd12:3456::1]/', /a private \(unique local\) address/],
      ['http://224.0.0.1/', /a multicast address/],
      ['http://[ff02::1]/', /a multicast address/],
      ['http://255.255.255.255/', /the broadcast address/],
      ['http://192.0.2.10/', /a reserved or documentation address/],
      ['http://[2001:db8::1]/', /a reserved or documentation address/],
      ['http://[64:ff9b::7f00:1]/', /a loopback address/],
      ['http://[2002:7f00:1::]/', /a 6to4 tunnel address/],
      ['https://internal.test/hooks', /^internal\.test resolves to 127\.0\.0\.1, a loopback address/],
      ['https://mixed.test/hooks', /^mixed\.test resolves to 10\.0\.0\.7, a private address/],
      ['https://metadata.test/', /^metadata\.test resolves to 169\.254\.169\.254, a cloud metadata address/],
    ]
    for (const [url, message] of cases) {
      const response = await register(app, key, url)
      t.equal(response.statusCode, 422, url)
      t.equal(json(response).error, 'webhook_url_not_public', url)
      t.match(json(response).message, message, url)
    }
    t.same(json(await app.inject({ url: '/v1/webhooks', headers: bearer(key) })).webhooks, [], 'nothing stored')
  })

  t.test("with the system's resolver, localhost is what /etc/hosts says: loopback", async (t) => {
    const app = await startApp(t, { env: { WEBHOOK_ALLOW_HTTP: 'true' } })
    const { key } = await createTenant(app)
    const response = await register(app, key, 'http://localhost:3000/')
    t.equal(response.statusCode, 422)
    t.match(json(response), {
      error: 'webhook_url_not_public',
      message: /^localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    })
  })

  t.test('a name that does not resolve yet is accepted: every delivery checks it again', async (t) => {
    const { app, key } = await world(t)
    const response = await register(app, key, 'https://hooks.not-yet.test/in')
    t.equal(response.statusCode, 201)
  })

  t.test('WEBHOOK_ALLOW_PRIVATE_NETWORKS lets private receivers in, never metadata', async (t) => {
    const { app, key } = await world(t, { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' })
    for (const url of ['http://10.1.2.3/', 'http://127.0.0.1:8080/', 'https://office.test/', 'http://[fd12::1]/']) {
      t.equal((await register(app, key, url)).statusCode, 201, url)
    }
    for (const url of [
      'http://169.254.169.254/',
      'http://[fd00:ec2::254]/',
      'https://metadata.test/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
    ]) {
      const response = await register(app, key, url)
      t.equal(response.statusCode, 422, url)
      t.equal(json(response).error, 'webhook_url_not_public', url)
    }
  })
})
