import { ApiError } from './errors.js'

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
      if (!Number.isSafeInteger(id)) {
        throw new ApiError(400, 'invalid_cursor', `${parameter} must be a nextCursor value from an earlier page`)
      }
      return id
    },
  }
}
