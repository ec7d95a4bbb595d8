import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildMetricsListener } from '../../src/routes/metrics-listener.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { bearer, json, startWithMessage, UA } from '../helpers.js'

/** Calls made at once: far more API work than one turn's smallest budget lets in. */
const CALLS = 40

interface Answer {
  status: number
  headers: string
  body: string
}

/** An open connection to the service, and the answer to the one request written on it. */
async function connection(port: number): Promise<{ socket: Socket; answer: Promise<Answer> }> {
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const answer = new Promise<Answer>((resolve, reject) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.once('error', reject)
    socket.once('end', () => {
      const split = text.indexOf('\r\n\r\n')
      resolve({ status: Number(text.slice(9, 12)), headers: text.slice(0, split), body: text.slice(split + 4) })
    })
  })
  return { socket, answer }
}

function request(method: string, path: string, headers: Record<string, string>, body = ''): string {
  const lines = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
  return `${method} ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body}`
}

t.test(
  'a tap sent behind a burst of API calls is answered before the calls still waiting, and every call is answered',
  async (t) => {
    const { app, key, message } = await startWithMessage(
      t,
      { links: [{ url: 'https://shop.example.dk/sale' }], recipients: ['first'] },
      { env: { API_TURN_BUDGET_MS: '1' } },
    )
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    const listener = await buildMetricsListener(app.services)
    const scrape = async () => {
      const text = (await listener.inject({ url: '/metrics' })).body
      const read = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])
      return { depth: read('smslinks_api_queue_depth'), deferred: read('smslinks_api_requests_deferred_total') }
    }
    const before = await scrape()
    const calls = await Promise.all(Array.from({ length: CALLS }, () => connection(port)))
    const phone = await connection(port)
    // Connected is not yet accepted: the service must hold every connection before the
    // requests are written, or it reads them in the order it accepts them.
    const held = () => new Promise<number>((resolve) => app.server.getConnections((_err, count) => resolve(count)))
    while ((await held()) < CALLS + 1) await new Promise((resolve) => setImmediate(resolve))

    // Every call, then the tap, written in one go: the service reads them in that order.
    // The last caller hangs up at once, while its call waits.
    const arrived: string[] = []
    const headers = { host: 'localhost', ...bearer(key), 'content-type': 'application/json' }
    calls.forEach(({ socket, answer }, i) => {
      const text = `Order ${i} has shipped: https://shop.example.dk/track/${i}`
      socket.write(request('POST', '/v1/messages', headers, JSON.stringify({ text, recipients: [`+4520${i}`] })))
      void answer.then(() => arrived.push(`call ${i}`))
    })
    calls.at(-1)!.socket.destroy()
    const shortUrl = new URL(message.recipients[0].links[0])
    phone.socket.write(request('GET', shortUrl.pathname, { host: shortUrl.host, 'user-agent': UA.iphoneSafari }))
    void phone.answer.then(() => arrived.push('tap'))

    const tap = await phone.answer
    const answers = await Promise.all(calls.slice(0, -1).map((call) => call.answer))
    t.equal(tap.status, 302)
    t.match(tap.headers, /\r\nlocation: https:\/\/shop\.example\.dk\/sale\r\n/i)
    t.ok(arrived.indexOf('tap') < CALLS - 1, `the tap is not the last answer (${arrived.join(', ')})`)

    answers.forEach((answer, i) => {
      t.equal(answer.status, 201, `call ${i} is created`)
      t.match(JSON.parse(answer.body), { recipients: [{ id: `+4520${i}` }] })
    })

    const after = await scrape()
    t.equal(after.depth, 0, 'nothing left waiting')
    t.ok(after.deferred - before.deferred > 0, `calls waited for a later turn (${after.deferred - before.deferred})`)
    t.ok(after.deferred - before.deferred < CALLS, 'the first call went in at once')
    const listed = json(await app.inject({ url: '/v1/messages?limit=100', headers: bearer(key) }))
    t.equal(listed.messages.length, CALLS, 'each call answered made one message, the abandoned one none')
  },
)

t.test('API_TURN_BUDGET_MS: 1 ms unless set, 0 turns the gate off, anything else stops start-up', async (t) => {
  t.equal(loadConfig({}).apiTurnBudgetMs, 1)
  t.equal(loadConfig({ API_TURN_BUDGET_MS: '0' }).apiTurnBudgetMs, 0)
  t.equal(loadConfig({ API_TURN_BUDGET_MS: '10' }).apiTurnBudgetMs, 10)
  for (const raw of ['-1', '1.5', 'fast', '1001']) {
    t.throws(
      () => loadConfig({ API_TURN_BUDGET_MS: raw }),
      new ConfigError('API_TURN_BUDGET_MS', 'must be a whole number from 0 to 1000', raw),
      raw,
    )
  }
})
