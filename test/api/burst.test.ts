import t from 'tap'
import { startWithMessage, stats, tap, testClock, withEachBackend } from '../helpers.js'

const HOME = '203.0.113.77'
const SCANNER_1 = '198.51.100.9'
const SCANNER_2 = '2001:db8:aa::1'

const TWO_LINKS = { links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }], recipients: ['a', 'b'] }

withEachBackend(t, (t) => {
  t.test('one token fetched from several networks within the window: later networks are bot/burst', async (t) => {
    const { app, key, message } = await startWithMessage(t, TWO_LINKS)
    const [a, b] = message.recipients
    await tap(app, a.links[0], { address: HOME })
    await tap(app, a.links[0], { address: SCANNER_1 })
    await tap(app, a.links[1], { address: SCANNER_2 })
    await tap(app, a.links[0], { address: HOME })
    await tap(app, b.links[0], { address: SCANNER_1 })
    const figures = await stats(app, key, message.id)
    t.has(figures.clicks, { total: 3, unique: 2, bots: 2, byReason: { burst: 2 } }, 'the first network keeps counting')
    t.same(figures.links[1].clicks, { total: 0, unique: 0, bots: 1, previews: 0 }, 'across links of the message')
  })

  t.test('networks decided in different flushes are still one burst', async (t) => {
    const { app, key, message } = await startWithMessage(t, TWO_LINKS)
    const link = message.recipients[0].links[0]
    await tap(app, link, { address: HOME })
    await stats(app, key, message.id)
    await tap(app, link, { address: SCANNER_1 })
    t.has((await stats(app, key, message.id)).clicks, { total: 1, bots: 1, byReason: { burst: 1 } })
  })

  t.test('after the window, another network is a person again', async (t) => {
    const clock = testClock()
    const { app, key, message } = await startWithMessage(t, TWO_LINKS, { env: { BURST_WINDOW_MS: '200' }, clock })
    const link = message.recipients[0].links[0]
    await tap(app, link, { address: HOME })
    await stats(app, key, message.id)
    clock.advance(300)
    await tap(app, link, { address: SCANNER_1 })
    t.has((await stats(app, key, message.id)).clicks, { total: 2, unique: 1, bots: 0, byReason: { burst: 0 } })
  })

  t.test('anonymous clicks have no token to burst', async (t) => {
    const { app, key, message } = await startWithMessage(t, TWO_LINKS)
    await tap(app, message.links[0].shortUrl, { address: HOME })
    await tap(app, message.links[0].shortUrl, { address: SCANNER_1 })
    t.has((await stats(app, key, message.id)).clicks, { total: 2, bots: 0 })
  })

  t.test('BURST_WINDOW_MS=0 turns the rule off', async (t) => {
    const { app, key, message } = await startWithMessage(t, TWO_LINKS, { env: { BURST_WINDOW_MS: '0' } })
    const link = message.recipients[0].links[0]
    await tap(app, link, { address: HOME })
    await tap(app, link, { address: SCANNER_1 })
    t.has((await stats(app, key, message.id)).clicks, { total: 2, unique: 1, bots: 0 })
  })

  t.test('the token whose window started longest ago is forgotten first, in constant time', async (t) => {
    const { BurstRule } = await import('../../src/clicks/burst.js')
    const rule = new BurstRule({ tooFastMs: 0, burstWindowMs: 1_000, maxTokens: 2 })
    t.equal(rule.isBurst(1, 0, 'home', 0), false)
    t.equal(rule.isBurst(1, 1, 'home', 10), false)
    t.equal(rule.isBurst(1, 0, 'scanner', 20), true, 'a remembered token from another network is a burst')
    t.equal(rule.isBurst(1, 0, 'home', 2_000), false, 'a new window for token 0 moves it behind token 1')
    t.equal(rule.isBurst(1, 2, 'home', 2_010), false, 'a third token: the oldest window (token 1) goes')
    t.equal(rule.size, 2)
    t.equal(rule.isBurst(1, 1, 'scanner', 2_020), false, 'token 1 was forgotten: its fetch starts a new window')
    t.equal(rule.isBurst(1, 2, 'scanner', 2_030), true, 'token 2 is still remembered')

    // Far more recipients than remembered: every new token evicts one, in constant time,
    // so a million taps finish in a moment instead of walking every deleted slot.
    const big = new BurstRule({ tooFastMs: 0, burstWindowMs: 1_000, maxTokens: 100_000 })
    for (let idx = 0; idx < 1_000_000; idx++) big.isBurst(1, idx, 'home', idx)
    t.equal(big.size, 100_000)
    t.equal(big.isBurst(1, 999_999, 'scanner', 1_000_000), true, 'the newest token is remembered')
    t.equal(big.isBurst(1, 0, 'scanner', 1_000_000), false, 'the oldest was forgotten')
  })
})
