import { setImmediate as nextTurn } from 'node:timers/promises'
import { Ajv, type Options, type ValidateFunction } from 'ajv'
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
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body'
      ? compileOnce('body', schema, () => bodyValidator(body, schema as JsonSchema))
      : compileOnce('text', schema, () => text.compile(schema as object)),
  )
  app.setSerializerCompiler(({ schema }) =>
    compileOnce('response', schema, () => fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0])),
  )
}

/**
 * A body already checked against its route's schema, with the same Ajv settings, off
 * the event loop (the recipients thread): a validator of a schema with a long array
 * lets it through.
 */
export abstract class CheckedBody {}

/** Items of a long array checked between two turns of the event loop. */
const ITEMS_PER_SLICE = 5_000

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> }

/**
 * A body validator that checks a long top-level array (100,000 recipient ids) a slice
 * of items at a time, letting the event loop run between slices (docs/adr/0079):
 * checked whole, it was one long stretch. The rest of the body is checked first, with
 * the arrays' own rules (type, length) but not their items'. An array of
 * ITEMS_PER_SLICE items or fewer is checked at once by the whole schema, as any other
 * body. When anything fails, the whole schema checks the body again, so that the
 * error is the one it gives (Fastify formats it as for any body).
 */
function bodyValidator(ajv: Ajv, schema: JsonSchema): ValidateFunction {
  const whole = ajv.compile(schema)
  const long = Object.entries(schema.properties ?? {}).filter(
    ([, property]) =>
      property.type === 'array' && property.items !== undefined && !(Number(property.maxItems) <= ITEMS_PER_SLICE),
  )
  if (long.length === 0) return whole
  const properties = { ...schema.properties }
  for (const [name, { items: _items, ...array }] of long) properties[name] = array
  const withoutItems = ajv.compile({ ...schema, properties })
  const itemValidators = long.map(([name, property]) => [name, ajv.compile(property.items as object)] as const)

  const validate = ((data: unknown, context?: object) => {
    if (data instanceof CheckedBody) return true
    const record = data as Record<string, unknown> | null
    const sliced = itemValidators.filter(
      ([name]) =>
        typeof record === 'object' &&
        Array.isArray(record?.[name]) &&
        (record[name] as unknown[]).length > ITEMS_PER_SLICE,
    )
    if (sliced.length === 0) {
      const valid = whole(data, context as never)
      validate.errors = whole.errors
      return valid
    }
    return (async () => {
      let valid = withoutItems(data, context as never)
      for (const [name, item] of sliced) {
        const items = record![name] as unknown[]
        for (let i = 0; valid && i < items.length; i++) {
          if (i % ITEMS_PER_SLICE === 0 && i > 0) await nextTurn()
          valid = item(items[i])
        }
      }
      // Rejected with the errors, not resolved false: validate.errors may be another call's by then.
      if (!valid && !whole(data, context as never)) throw whole.errors
      return true
    })()
  }) as ValidateFunction
  validate.schemaEnv = whole.schemaEnv
  validate.schema = whole.schema
  return validate
}
