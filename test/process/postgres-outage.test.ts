import t from 'tap'
import { eventually } from '../fixtures/webhook-receiver.js'
import { postgresDatabase } from '../fixtures/postgres.js'
import { startTcpProxy } from '../fixtures/tcp-proxy.js'
import { startServer, tempDatabasePath, UA } from '../helpers.js'

/** A phone following a short link: the status and, for a redirect, where to. */
async function follow(url: string) {
  const response = await fetch(url, { redirect: 'manual', headers: { 'user-agent': UA.iphoneSafari } })
  await response.arrayBuffer()
  return response
}

t.test('redirects go on while PostgreSQL is away, and every tap is counted once it is back', async (t) => {
  const database = new URL(await postgresDatabase(t))
  const proxy = await startTcpProxy({ host: database.hostname, port: Number(database.port) })
  t.teardown(() => proxy.close())
  const throughProxy = new URL(database)
  throughProxy.port = String(proxy.port)
  const server = await startServer(t, tempDatabasePath(t), {
    DATABASE_URL: throughProxy.toString(),
    CLICK_FLUSH_INTERVAL_MS: '20',
  })
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
    })
  const recipients = Array.from({ length: 40 }, (_, i) => `r${i}`)
  const sale = await (
    await api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ links: [{ url: 'https://shop.dk/sale' }], recipients }),
    })
  ).json()
  const other = await (
    await api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ links: [{ url: 'https://shop.dk/other' }], recipients: ['x'] }),
    })
  ).json()
  // The first tap puts the link in the cache; recipients share it.
  t.equal((await follow(sale.recipients[0].links[0])).status, 302)

  proxy.cut()
  let taps = 1
  for (let round = 0; round < 3; round++) {
    for (const recipient of sale.recipients) {
      const response = await follow(recipient.links[0])
      t.equal(response.status, 302, 'a cached link redirects while the database is away')
      taps++
    }
  }
  t.equal(
    (await follow(sale.recipients[5].links[0])).headers.get('location'),
    'https://shop.dk/sale',
    'to its destination',
  )
  taps++
  const notCached = await follow(other.recipients[0].links[0])
  t.equal(notCached.status, 503, 'a link not in memory asks to try again')
  t.equal(notCached.headers.get('retry-after'), '5')
  t.match(await (await fetch(other.recipients[0].links[0])).text(), /try again/i, 'on a page a person can read')
  const ready = await fetch(`${server.base}/readyz`)
  t.equal(ready.status, 503)
  t.same(await ready.json(), { status: 'not_ready', reasons: ['database_not_writable'] })
  const statsDuring = await api(`/v1/messages/${sale.id}/stats`)
  t.equal(statsDuring.status, 503, 'the API says the database is away, not that it broke')
  t.equal((await statsDuring.json()).error, 'database_unavailable')

  proxy.restore()
  await eventually(t, 'ready again', async () => (await fetch(`${server.base}/readyz`)).status === 200)
  t.equal((await follow(other.recipients[0].links[0])).status, 302, 'the link not in memory works again')
  taps++
  let clicks: { total: number; unique: number } = { total: 0, unique: 0 }
  await eventually(t, 'every tap written', async () => {
    clicks = (await (await api(`/v1/messages/${sale.id}/stats`)).json()).clicks
    return clicks.total === taps - 1
  })
  t.has(clicks, { total: taps - 1, unique: recipients.length }, 'none lost, none counted twice')
})
