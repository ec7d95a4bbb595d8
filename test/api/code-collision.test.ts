import t from 'tap'
import type { Test } from 'tap'
import { openStore } from '../../src/db/open-store.js'
import type { NewMessage, Store } from '../../src/db/store.js'
import {
  createTenant,
  json,
  postMessage,
  reusableDatabase,
  startApp,
  tap,
  tempDatabasePath,
  UA,
  withEachBackend,
} from '../helpers.js'

/**
 * Short codes are random and not looked up before the message is stored: the database's
 * unique key refuses a taken one, and the service draws new codes. A collision is made
 * here by handing the store a code that is taken, as a random draw could.
 */

/** The code of a short link: its path up to the recipient token. */
const codeOf = (shortUrl: string) => new URL(shortUrl).pathname.slice(1).split('-')[0]!

/** The test's store, whose next createMessage gets `collide` applied to its links' codes. */
async function collidingStore(t: Test) {
  const database = await reusableDatabase(t)
  const store = await openStore({
    databaseUrl: 'databaseUrl' in database ? database.databaseUrl : null,
    databasePath: 'databasePath' in database ? database.databasePath : tempDatabasePath(t),
  })
  t.teardown(() => store.close())
  const attempts: string[][] = []
  let collide: ((codes: string[]) => string[]) | null = null
  const colliding = new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'createMessage') {
        return (input: NewMessage, recipientIds?: string[]) => {
          const codes = input.links.map((link) => link.code)
          const given = collide === null ? codes : collide(codes)
          collide = null
          attempts.push(given)
          return target.createMessage(
            { ...input, links: input.links.map((link, i) => ({ ...link, code: given[i]! })) },
            recipientIds,
          )
        }
      }
      const value: unknown = Reflect.get(target, name, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {
    store: colliding as Store,
    attempts,
    collideNext: (change: (codes: string[]) => string[]) => (collide = change),
  }
}

withEachBackend(t, (t) => {
  t.test("a code taken by another message's link is drawn again; nothing of the refused try is kept", async (t) => {
    const { store, attempts, collideNext } = await collidingStore(t)
    const app = await startApp(t, { store })
    const { key } = await createTenant(app)
    const first = json(
      await postMessage(app, key, { links: [{ url: 'https://shop.dk/a' }], recipients: ['+4520000001'] }),
    )
    const taken = codeOf(first.recipients[0].links[0])

    collideNext((codes) => [taken, ...codes.slice(1)])
    const response = await postMessage(app, key, {
      text: 'Sale today https://shop.dk/b and https://shop.dk/c',
      recipients: ['+4520000002'],
    })
    t.equal(response.statusCode, 201)
    const second = json(response)
    const codes = second.recipients[0].links.map(codeOf)
    t.equal(attempts.length, 3, 'the first message, the refused try, the second message')
    t.equal(attempts[1]![0], taken, 'the refused try had the taken code')
    t.same(codes, attempts[2], 'the message has the codes of the try that was stored')
    t.not(codes[0], taken)

    const location = async (shortUrl: string) =>
      (await tap(app, shortUrl, { userAgent: UA.iphoneSafari })).headers.location
    t.equal(
      await location(first.recipients[0].links[0]),
      'https://shop.dk/a',
      'the taken code still goes where it went',
    )
    t.equal(await location(second.recipients[0].links[0]), 'https://shop.dk/b')
    t.equal(await location(second.recipients[0].links[1]), 'https://shop.dk/c')
    const list = json(
      await app.inject({ method: 'GET', url: '/v1/messages', headers: { authorization: `Bearer ${key}` } }),
    )
    t.equal(list.messages.length, 2, 'the refused try stored no message')
  })

  t.test('two links of one message drawn the same code are drawn again', async (t) => {
    const { store, attempts, collideNext } = await collidingStore(t)
    const app = await startApp(t, { store })
    const { key } = await createTenant(app)
    collideNext(([code]) => [code!, code!])
    const response = await postMessage(app, key, {
      links: [{ url: 'https://shop.dk/a' }, { url: 'https://shop.dk/b' }],
      recipients: ['+4520000001'],
    })
    t.equal(response.statusCode, 201)
    const codes = json(response).recipients[0].links.map(codeOf)
    t.equal(attempts.length, 2)
    t.equal(attempts[0]![0], attempts[0]![1], 'the refused try gave both links one code')
    t.not(codes[0], codes[1])
  })
})
