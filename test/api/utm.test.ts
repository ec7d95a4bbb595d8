import t from 'tap'
import { bearer, createTenant, json, postMessage, stats, startApp, tap, withEachBackend } from '../helpers.js'

withEachBackend(t, (t) => {
  t.test('utm values are added to the destination at redirect time, never overwriting the URL', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const message = json(
      await postMessage(app, key, {
        links: [
          { url: 'https://shop.dk/sale' },
          { url: 'https://shop.dk/x?utm_source=newsletter&a=1#top' },
          { url: 'https://shop.dk/y?' },
        ],
        utm: { source: 'sms', medium: 'sms', campaign: 'black friday & more', content: 'a/b' },
        recipients: ['a'],
      }),
    )
    t.same(message.utm, { source: 'sms', medium: 'sms', campaign: 'black friday & more', content: 'a/b' })
    t.equal(message.links[1].url, 'https://shop.dk/x?utm_source=newsletter&a=1#top', 'the stored link is unchanged')

    const locations = []
    for (const link of message.recipients[0].links) locations.push((await tap(app, link)).headers.location)
    t.same(locations, [
      'https://shop.dk/sale?utm_source=sms&utm_medium=sms&utm_campaign=black%20friday%20%26%20more&utm_content=a%2Fb',
      'https://shop.dk/x?utm_source=newsletter&a=1&utm_medium=sms&utm_campaign=black%20friday%20%26%20more&utm_content=a%2Fb#top',
      'https://shop.dk/y?utm_source=sms&utm_medium=sms&utm_campaign=black%20friday%20%26%20more&utm_content=a%2Fb',
    ])
    const second = await tap(app, message.recipients[0].links[0])
    t.equal(second.headers.location, locations[0], 'the same Location from the cache')

    const figures = await stats(app, key, message.id)
    t.same(
      figures.links.map((link: { url: string }) => link.url),
      ['https://shop.dk/sale', 'https://shop.dk/x?utm_source=newsletter&a=1#top', 'https://shop.dk/y?'],
      'stats show the original URLs',
    )
    const stored = json(await app.inject({ url: `/v1/messages/${message.id}`, headers: bearer(key) }))
    t.same(stored.utm, message.utm)
  })

  t.test('utm works with texts, and a message without utm redirects unchanged', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    const withUtm = json(
      await postMessage(app, key, { text: 'Se shop.dk/x', utm: { campaign: 'spring' }, recipients: ['a'] }),
    )
    t.equal((await tap(app, withUtm.recipients[0].links[0])).headers.location, 'https://shop.dk/x?utm_campaign=spring')
    const without = json(await postMessage(app, key, { text: 'Se shop.dk/x', recipients: ['a'] }))
    t.equal((await tap(app, without.recipients[0].links[0])).headers.location, 'https://shop.dk/x')
  })

  t.test('bad utm values are a 400', async (t) => {
    const app = await startApp(t)
    const { key } = await createTenant(app)
    for (const utm of [{}, { source: '' }, { source: 'x'.repeat(101) }, { medium: 7 }, { id: 'x' }]) {
      const response = await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], utm, recipients: ['a'] })
      t.equal(response.statusCode, 400, JSON.stringify(utm))
      t.equal(json(response).error, 'invalid_request', JSON.stringify(utm))
    }
    const posted = await postMessage(app, key, {
      externalId: 'e',
      links: [{ url: 'https://shop.dk' }],
      utm: { source: 'sms' },
      recipients: ['a'],
    })
    t.equal(posted.statusCode, 201)
    const changed = await postMessage(app, key, {
      externalId: 'e',
      links: [{ url: 'https://shop.dk' }],
      utm: { source: 'mms' },
      recipients: ['a'],
    })
    t.equal(changed.statusCode, 409)
    t.match(json(changed).message, /other utm/)
  })
})
