import t from 'tap'
import { ClickCursor } from '../../src/clicks/export.js'
import { ApiError } from '../../src/errors.js'

const text = (cursor: string) => Buffer.from(cursor, 'base64url').toString()

t.test('a click cursor holds the transaction id and the click id', async (t) => {
  const position = { xid: 2_147_484_000, id: 981 }
  t.same(ClickCursor.decode(ClickCursor.encode(position)), position)
  t.equal(text(ClickCursor.encode(position)), 'c2147484000.981')
})

t.test('with transaction id 0 it is the bare id, as cursors were before', async (t) => {
  t.equal(text(ClickCursor.encode({ xid: 0, id: 42 })), 'c42')
  t.same(ClickCursor.decode(Buffer.from('c42').toString('base64url')), { xid: 0, id: 42 })
})

t.test('anything else is a 400 invalid_cursor', async (t) => {
  for (const bad of ['x42', 'c', 'c.5', 'c5.', 'c1.2.3', 'o42', 'c-1', 'c99999999999999999.1']) {
    let thrown: unknown = null
    try {
      ClickCursor.decode(Buffer.from(bad).toString('base64url'))
    } catch (err) {
      thrown = err
    }
    t.ok(thrown instanceof ApiError && thrown.statusCode === 400 && thrown.code === 'invalid_cursor', bad)
  }
})
