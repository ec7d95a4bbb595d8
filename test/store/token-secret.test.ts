import t, { type Test } from 'tap'
import { randomSecret } from '../../src/config.js'
import { resolveTokenSecret, TokenSecretMismatchError } from '../../src/links/token-secret.js'
import { backends } from '../fixtures/store-backends.js'

const X = 'x'.repeat(40)
const Y = 'y'.repeat(40)

for (const backend of backends) {
  t.test(backend.name, async (t) => {
    const fresh = async (t: Test) => {
      const store = await backend.open(t)
      t.teardown(() => store.close())
      return store
    }

    t.test('without TOKEN_SECRET one is generated once and kept', async (t) => {
      const store = await fresh(t)
      const [a, b] = await Promise.all([
        resolveTokenSecret(store, null, randomSecret),
        resolveTokenSecret(store, null, randomSecret),
      ])
      t.equal(a, b, 'two instances starting together agree')
      t.equal(await resolveTokenSecret(store, null, randomSecret), a, 'and so does a restart')
    })

    t.test('a database made with one TOKEN_SECRET refuses another, or none', async (t) => {
      const store = await fresh(t)
      t.equal(await resolveTokenSecret(store, X, randomSecret), X)
      t.equal(await resolveTokenSecret(store, X, randomSecret), X)
      await t.rejects(resolveTokenSecret(store, Y, randomSecret), TokenSecretMismatchError)
      await t.rejects(resolveTokenSecret(store, null, randomSecret), TokenSecretMismatchError)
      t.equal(await resolveTokenSecret(store, X, randomSecret), X, 'the refusals changed nothing')
    })

    t.test('a database with a generated secret refuses a TOKEN_SECRET set later', async (t) => {
      const store = await fresh(t)
      const generated = await resolveTokenSecret(store, null, randomSecret)
      await t.rejects(resolveTokenSecret(store, Y, randomSecret), TokenSecretMismatchError)
      t.equal(await resolveTokenSecret(store, generated, randomSecret), generated, 'the same value given explicitly')
    })

    t.test('a database from before the fingerprint takes its kept secret as the original', async (t) => {
      const store = await fresh(t)
      await store.setSettingOnce('token_secret', 'g'.repeat(43))
      await t.rejects(resolveTokenSecret(store, Y, randomSecret), TokenSecretMismatchError)
      t.equal(await resolveTokenSecret(store, null, randomSecret), 'g'.repeat(43))
    })
  })
}
