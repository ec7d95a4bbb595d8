import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false }

function compiler(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...common, coerceTypes })
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
  const forText = compiler('array')
  const forBody = compiler(false)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? forBody : forText).compile(schema as object),
  )
}
