import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }

/**
 * The Ajv the service validates one part of a request with: a JSON `body` as sent, or
 * `text` (query strings, params, headers), coerced from strings. Tests validate the
 * OpenAPI document's examples with the same.
 */
export function createAjv(part: 'body' | 'text'): Ajv {
  const ajv = new Ajv({ ...common, coerceTypes: part === 'body' ? false : 'array' })
  addFormats(ajv)
  return ajv
}

/**
 * Request validation with one rule per part of the request. Query strings, params
 * and headers arrive as text, so `?limit=20` is coerced to a number; a JSON body
 * is taken as sent: `7` where a string belongs is an error, never `"7"`, and an
 * unknown field is refused rather than silently dropped.
 */
export function installValidators(app: FastifyInstance): void {
  const forText = createAjv('text')
  const forBody = createAjv('body')
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? forBody : forText).compile(schema as object),
  )
}
