import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import fastJsonStringify from 'fast-json-stringify'

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

/** Compiled functions by part and schema text, shared by every app this process builds. */
const compiled = new Map<string, unknown>()

/**
 * Compiles a schema once per process: a server builds one app, but the tests build
 * hundreds, and compiling every route's schemas again for each was most of what
 * building an app cost. The functions are pure, so sharing them changes nothing.
 */
function compileOnce<F>(part: string, schema: unknown, compile: () => F): F {
  const key = `${part} ${JSON.stringify(schema)}`
  let fn = compiled.get(key) as F | undefined
  if (fn === undefined) {
    fn = compile()
    compiled.set(key, fn)
  }
  return fn
}

let ajvs: { text: Ajv; body: Ajv } | null = null

/**
 * Request validation with one rule per part of the request. Query strings, params
 * and headers arrive as text, so `?limit=20` is coerced to a number; a JSON body
 * is taken as sent: `7` where a string belongs is an error, never `"7"`, and an
 * unknown field is refused rather than silently dropped. Responses are serialised
 * with fast-json-stringify, as Fastify does by default.
 */
export function installValidators(app: FastifyInstance): void {
  ajvs ??= { text: createAjv('text'), body: createAjv('body') }
  const { text, body } = ajvs
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? body : text
    return compileOnce(ajv === body ? 'body' : 'text', schema, () => ajv.compile(schema as object))
  })
  app.setSerializerCompiler(({ schema }) =>
    compileOnce('response', schema, () => fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0])),
  )
}
