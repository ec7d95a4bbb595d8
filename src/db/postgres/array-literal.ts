const NEEDS_ESCAPE = /["\\]/

/**
 * One column of `rows` as a PostgreSQL array literal (`{1,NULL,"text"}`), for an
 * `unnest($n::type[])` parameter. Built in one pass without an intermediate array:
 * pg's own serializer makes several calls per element, and a click batch sends
 * thousands of elements per column.
 */
export function arrayLiteral<T>(rows: readonly T[], pick: (row: T) => number | string | null): string {
  let text = '{'
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) text += ','
    const value = pick(rows[i]!)
    if (value === null) text += 'NULL'
    else if (typeof value === 'number') text += String(value)
    else text += `"${NEEDS_ESCAPE.test(value) ? value.replace(/["\\]/g, '\\$&') : value}"`
  }
  return text + '}'
}
