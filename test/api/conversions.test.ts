import t from 'tap'
import {
  bearer,
  createTenant,
  flushClicks,
  json,
  startApp,
  stats,
  tap,
  UA,
  startWithMessage,
  withEachBackend,
} from '../helpers.js'
import { recordClicks } from '../../src/clicks/click-batch.js'

type App = Awaited<ReturnType<typeof startApp>>

const SALE = {
  links: [{ url: 'https://shop.dk/sale' }],
  recipients: ['cust-1', 'cust-2', 'cust-3'],
  clickIdParam: 'sl_cid',
}

const convert = (app: App, key: string, payload: object) =>
  app.inject({ method: 'POST', url: '/v1/conversions', headers: bearer(key), payload })

const clickIdOf = (location: string) => new URL(location).searchParams.get('sl_cid')!

withEachBackend(t, (t) => {
  t.test(
    'a conversion by message and recipient counts for the last human click, with revenue per currency',
    async (t) => {
      const { app, key, message } = await startWithMessage(t, SALE)
      await tap(app, message.recipients[0].links[0])
      await tap(app, message.recipients[1].links[0])
      const response = await convert(app, key, {
        message: message.id,
        recipient: 'cust-1',
        value: 129.5,
        currency: 'DKK',
        id: 'order-77',
      })
      t.equal(response.statusCode, 201)
      t.has(json(response), {
        id: 'order-77',
        messageId: message.id,
        recipient: 'cust-1',
        clickId: null,
        value: 129.5,
        currency: 'DKK',
      })
      t.equal(
        (await convert(app, key, { message: message.id, recipient: 'cust-2', value: 0.1, currency: 'DKK', id: 'o-2' }))
          .statusCode,
        201,
      )
      t.equal(
        (await convert(app, key, { message: message.id, recipient: 'cust-2', value: 20, currency: 'EUR', id: 'o-3' }))
          .statusCode,
        201,
      )
      const figures = await stats(app, key, message.id)
      t.equal(figures.conversions, 3)
      t.equal(figures.conversionRate, 1.5, 'conversions ÷ unique clickers')
      t.same(figures.revenue, { DKK: 129.6, EUR: 20 })
    },
  )

  t.test('a conversion by click id, even one still queued when the order came', async (t) => {
    const { app, key, message } = await startWithMessage(t, SALE)
    const clickId = clickIdOf((await tap(app, message.recipients[2].links[0])).headers.location as string)
    const response = await convert(app, key, { clickId, value: 49, currency: 'EUR', id: 'order-78' })
    t.equal(response.statusCode, 201)
    t.has(json(response), { recipient: 'cust-3', clickId, messageId: message.id })
  })

  t.test('a repeated conversion id returns the first result with 200 and counts once', async (t) => {
    const { app, key, message } = await startWithMessage(t, SALE)
    await tap(app, message.recipients[0].links[0])
    const first = await convert(app, key, {
      message: message.id,
      recipient: 'cust-1',
      value: 10,
      currency: 'DKK',
      id: 'order-9',
    })
    const again = await convert(app, key, {
      message: message.id,
      recipient: 'cust-1',
      value: 99,
      currency: 'DKK',
      id: 'order-9',
    })
    t.equal(again.statusCode, 200)
    t.same(json(again), json(first))
    const figures = await stats(app, key, message.id)
    t.equal(figures.conversions, 1)
    t.same(figures.revenue, { DKK: 10 })
  })

  t.test('a click outside the attribution window does not convert', async (t) => {
    const { app, key, message } = await startWithMessage(t, SALE)
    const stored = await app.services.store.getMessage(1, message.id)
    // A human click six days ago, written as the flush would have written it then.
    await recordClicks(app.services.store, [
      {
        at: Date.now() - 6 * 86_400_000,
        messageId: stored!.id,
        linkId: stored!.links[0]!.id,
        recipientIdx: 0,
        class: 'human',
        reason: null,
        userAgent: UA.iphoneSafari,
        network: '203.0.113.0/24',
        clickId: 'old-click-1',
        device: 'mobile',
        os: 'iOS',
        browser: 'Mobile Safari',
      },
    ])
    for (const payload of [
      { message: message.id, recipient: 'cust-1', value: 5, currency: 'DKK', id: 'late-1' },
      { clickId: 'old-click-1', value: 5, currency: 'DKK', id: 'late-2' },
    ]) {
      const response = await convert(app, key, payload)
      t.equal(response.statusCode, 422)
      t.equal(json(response).error, 'outside_attribution_window')
    }
    // Inside the window the same recipient converts again.
    await tap(app, message.recipients[0].links[0])
    t.equal(
      (await convert(app, key, { message: message.id, recipient: 'cust-1', value: 5, currency: 'DKK', id: 'late-1' }))
        .statusCode,
      201,
    )
    t.equal((await stats(app, key, message.id)).conversions, 1, 'the refused ones changed nothing')
  })

  t.test('unattributable conversions are 422 with a reason, and change nothing', async (t) => {
    const { app, key, message } = await startWithMessage(t, SALE)
    const preview = clickIdOf(
      (await tap(app, message.recipients[1].links[0], { userAgent: UA.whatsapp })).headers.location as string,
    )
    await flushClicks(app)
    const cases: Array<[object, string]> = [
      [{ message: message.id, recipient: 'cust-1' }, 'no_human_click'],
      [{ message: message.id, recipient: 'nobody' }, 'unknown_recipient'],
      [{ clickId: 'never-issued' }, 'unknown_click'],
      [{ clickId: preview }, 'click_not_human'],
    ]
    for (const [by, reason] of cases) {
      const response = await convert(app, key, { ...by, value: 1, currency: 'DKK', id: `o-${reason}` })
      t.equal(response.statusCode, 422, reason)
      t.equal(json(response).error, reason)
    }
    for (const payload of [
      { value: 1, currency: 'DKK', id: 'x' },
      { message: message.id, value: 1, currency: 'DKK', id: 'x' },
      { clickId: 'a', message: message.id, recipient: 'cust-1', value: 1, currency: 'DKK', id: 'x' },
      { message: message.id, recipient: 'cust-1', value: -1, currency: 'DKK', id: 'x' },
      { message: message.id, recipient: 'cust-1', value: 1, currency: 'dkk', id: 'x' },
      { message: message.id, recipient: 'cust-1', value: 1, currency: 'DKK', id: 'x', extra: true },
    ]) {
      t.equal((await convert(app, key, payload)).statusCode, 400, JSON.stringify(payload))
    }
    t.equal((await stats(app, key, message.id)).conversions, 0)
  })

  t.test('another tenant cannot convert on a message or a click that is not its own', async (t) => {
    const { app, key, message } = await startWithMessage(t, SALE)
    const clickId = clickIdOf((await tap(app, message.recipients[0].links[0])).headers.location as string)
    const other = await createTenant(app, 's.other.dk', 'Other')
    const byMessage = await convert(app, other.key, {
      message: message.id,
      recipient: 'cust-1',
      value: 1,
      currency: 'DKK',
      id: 'o',
    })
    t.equal(byMessage.statusCode, 404)
    t.same(json(byMessage), { error: 'not_found', message: 'message not found' })
    const byClick = await convert(app, other.key, { clickId, value: 1, currency: 'DKK', id: 'o' })
    t.equal(byClick.statusCode, 422)
    t.equal(json(byClick).error, 'unknown_click')
    // The same conversion id is the other tenant's own: ids are per tenant.
    t.equal((await convert(app, key, { clickId, value: 1, currency: 'DKK', id: 'o' })).statusCode, 201)
    t.equal((await stats(app, key, message.id)).conversions, 1)
  })
})
