import pg from 'pg'
import t from 'tap'
import { arrayLiteral } from '../../src/db/postgres/array-literal.js'
import { postgresDatabase } from '../fixtures/postgres.js'

t.test('array literals reach PostgreSQL as the values they were built from', async (t) => {
  const client = new pg.Client({ connectionString: await postgresDatabase(t) })
  await client.connect()
  t.teardown(() => client.end())
  const texts = ['plain', '', 'a,b', '{braces}', 'quote " inside', 'back\\slash', ' spaced ', 'NULL', 'æøå 中文', null]
  const { rows } = await client.query<{ value: string | null }>('SELECT unnest($1::text[]) AS value', [
    arrayLiteral(texts, (text) => text),
  ])
  t.same(
    rows.map((row) => row.value),
    texts,
  )
  const numbers = [0, -1, 1_795_439_185_103, null, 42]
  const bigints = await client.query<{ value: string | null }>('SELECT unnest($1::bigint[])::text AS value', [
    arrayLiteral(numbers, (n) => n),
  ])
  t.same(
    bigints.rows.map((row) => row.value),
    numbers.map((n) => (n === null ? null : String(n))),
  )
  const empty = await client.query('SELECT unnest($1::int[]) AS value', [arrayLiteral([], (n: number) => n)])
  t.equal(empty.rows.length, 0)
})
