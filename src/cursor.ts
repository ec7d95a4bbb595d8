import { ApiError } from './errors.js'

function invalidCursor(parameter: string): ApiError {
  return new ApiError(400, 'invalid_cursor', `${parameter} must be a nextCursor value from an earlier page`)
}

/**
 * An opaque page cursor over internal row ids: base64url of a one-letter kind and the
 * id, so cursors of different lists are not mixed up and nobody builds them by hand.
 * `parameter` names the query parameter in the error a bad cursor gets.
 */
export function idCursor(kind: string, parameter: string) {
  const pattern = new RegExp(`^${kind}\\d{1,15}$`)
  return {
    encode: (id: number): string => Buffer.from(`${kind}${id}`).toString('base64url'),
    decode: (cursor: string): number => {
      const text = Buffer.from(cursor, 'base64url').toString()
      const id = pattern.test(text) ? Number(text.slice(kind.length)) : NaN
      if (!Number.isSafeInteger(id)) throw invalidCursor(parameter)
      return id
    },
  }
}

/**
 * Like idCursor, over a pair: a transaction id, then a row id. A pair whose first
 * part is 0 encodes as the bare row id, exactly as idCursor does, so a cursor handed
 * out before the pair existed, or by a backend where it is always 0, keeps its meaning.
 */
export function pairCursor(kind: string, parameter: string) {
  const pattern = new RegExp(`^${kind}(?:(\\d{1,16})\\.)?(\\d{1,15})$`)
  return {
    encode: ({ xid, id }: { xid: number; id: number }): string =>
      Buffer.from(xid === 0 ? `${kind}${id}` : `${kind}${xid}.${id}`).toString('base64url'),
    decode: (cursor: string): { xid: number; id: number } => {
      const match = pattern.exec(Buffer.from(cursor, 'base64url').toString())
      const xid = Number(match?.[1] ?? 0)
      const id = Number(match?.[2])
      if (!Number.isSafeInteger(xid) || !Number.isSafeInteger(id)) throw invalidCursor(parameter)
      return { xid, id }
    },
  }
}
