import t from 'tap'
import { createTenant, flushClicks, json, postMessage, startApp, tap, UA, withEachBackend } from '../helpers.js'

withEachBackend(t, (t) => {
  t.test('clickIdParam gives every click its own id, in the Location and stored with the click', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(
      await postMessage(app, key, {
        links: [{ url: 'https://shop.dk/sale?a=1#buy' }, { url: 'https://shop.dk/terms' }],
        utm: { source: 'sms' },
        clickIdParam: 'sl_cid',
        recipients: ['a', 'b'],
      }),
    )
    t.equal(message.clickIdParam, 'sl_cid')

    const taps = [
      { link: message.recipients[0].links[0], recipientIdx: 0, linkIndex: 0 },
      { link: message.recipients[0].links[0], recipientIdx: 0, linkIndex: 0 },
      { link: message.recipients[1].links[1], recipientIdx: 1, linkIndex: 1 },
    ]
    const ids: string[] = []
    for (const { link } of taps) {
      const location = (await tap(app, link)).headers.location as string
      const match =
        /^(https:\/\/shop\.dk\/(?:sale\?a=1&utm_source=sms|terms\?utm_source=sms))&sl_cid=([0-9A-Za-z]+)(#buy)?$/.exec(
          location,
        )
      t.ok(match, location)
      ids.push(match![2]!)
    }
    t.equal(new Set(ids).size, 3, 'a new id for every click, repeats included')

    await flushClicks(app)
    for (const [i, id] of ids.entries()) {
      const click = await app.services.store.findClick(id)
      t.match(click, { clickId: id, recipientIdx: taps[i]!.recipientIdx, class: 'human' }, id)
    }
    t.equal(await app.services.store.findClick('nonsense'), null)
  })

  t.test('without clickIdParam the Location carries no id', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk/x' }], recipients: ['a'] }))
    t.equal(
      (await tap(app, message.recipients[0].links[0], { userAgent: UA.androidChrome })).headers.location,
      'https://shop.dk/x',
    )
  })

  t.test('clickIdParam must be a plain parameter name the destinations do not use', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const cases: Array<[object, RegExp]> = [
      [{ links: [{ url: 'https://shop.dk/x' }], clickIdParam: 'a b' }, /clickIdParam/],
      [{ links: [{ url: 'https://shop.dk/x' }], clickIdParam: 'x&y=1' }, /clickIdParam/],
      [{ links: [{ url: 'https://shop.dk/x' }], clickIdParam: '' }, /clickIdParam/],
      [{ links: [{ url: 'https://shop.dk/x' }], clickIdParam: 'utm_id' }, /utm_/],
      [
        { links: [{ url: 'https://shop.dk/x?cid=7' }], clickIdParam: 'cid' },
        /already a query parameter of https:\/\/shop\.dk\/x\?cid=7/,
      ],
    ]
    for (const [payload, message] of cases) {
      const response = await postMessage(app, key, { ...payload, recipients: ['a'] })
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.match(json(response), { error: 'invalid_request', message }, JSON.stringify(payload))
    }
  })
})
