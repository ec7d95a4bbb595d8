/**
 * An error the caller can fix. Rendered as `{ "error": code, "message": message }`
 * with its status; `code` is stable for programs, `message` is for people.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`)
