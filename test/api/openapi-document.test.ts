import type { ValidateFunction } from 'ajv'
import t, { type Test } from 'tap'
import { createAjv } from '../../src/validation.js'
import { bearer, createTenant, postMessage, stats, startApp, tap } from '../helpers.js'

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/**
 * The operationIds clients are generated with: renaming one breaks every generated
 * client, so a change here is a change to /v1 (docs/CHANGELOG.md).
 */
const OPERATION_IDS = [
  'addDomain',
  'addRecipients',
  'checkTlsDomain',
  'confirmUnsubscribe',
  'createApiKey',
  'createMessage',
  'createTenant',
  'createWebhook',
  'deleteWebhook',
  'eraseRecipient',
  'getAllowedHosts',
  'getCampaignStats',
  'getCampaignVariants',
  'getKindStats',
  'getLiveness',
  'getMessage',
  'getMessageStats',
  'getMetrics',
  'getOpenApiDocument',
  'getReadiness',
  'getRobotsTxt',
  'importOptOuts',
  'listEngagedRecipients',
  'listMessageClicks',
  'listMessages',
  'listOptOuts',
  'listTenants',
  'listUnsubscribePageTexts',
  'listWebhookDeliveries',
  'listWebhooks',
  'recordOptOut',
  'redirectShortLink',
  'removeUnsubscribePageText',
  'reportConversion',
  'reportDeliveries',
  'resubscribe',
  'revokeApiKey',
  'setAllowedHosts',
  'setDomainFallback',
  'setTenantLanguage',
  'setUnsubscribePageText',
  'showUnsubscribePage',
]

// The service's own validators: bodies as sent, text (parameters) coerced from strings.
const forBody = createAjv('body')
const forText = createAjv('text')

function operations(doc: any) {
  const found: { name: string; operation: any }[] = []
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of METHODS) {
      if (item[method]) found.push({ name: `${method.toUpperCase()} ${path}`, operation: item[method] })
    }
  }
  return found
}

/** A schema's examples, nested ones included: [where, example, the schema it belongs to]. */
function* schemaExamples(schema: any, where: string): Generator<[string, unknown, object]> {
  if (schema === null || typeof schema !== 'object') return
  if ('example' in schema) yield [where, schema.example, schema]
  for (const key of ['properties', 'patternProperties'] as const) {
    for (const [name, sub] of Object.entries<any>(schema[key] ?? {})) yield* schemaExamples(sub, `${where}.${name}`)
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const [i, sub] of (schema[key] ?? []).entries()) yield* schemaExamples(sub, `${where}.${key}[${i}]`)
  }
  for (const key of ['items', 'additionalProperties', 'not'] as const) {
    if (typeof schema[key] === 'object') yield* schemaExamples(schema[key], `${where}.${key}`)
  }
}

/** A media type's examples ({example} or {examples: {name: {value}}}) and those inside its schema. */
function* mediaExamples(media: any, where: string): Generator<[string, unknown, object]> {
  if ('example' in media) yield [`${where} example`, media.example, media.schema]
  for (const [name, example] of Object.entries<any>(media.examples ?? {})) {
    yield [`${where} examples.${name}`, example.value, media.schema]
  }
  yield* schemaExamples(media.schema, `${where} schema`)
}

function check(t: Test, validator: typeof forBody, where: string, example: unknown, schema: object) {
  let validate: ValidateFunction
  try {
    validate = validator.compile(schema)
  } catch (error) {
    return t.fail(`${where}: the schema does not compile: ${(error as Error).message}`)
  }
  // useDefaults fills in defaults: validate a copy, never the document.
  const valid = validate(structuredClone(example))
  t.ok(valid, `${where}: the example matches its schema`, { errors: validate.errors, example })
}

/** The document of a service with METRICS_TOKEN set: the only one in which /metrics is on the main port. */
async function servedDocument(t: Test) {
  const app = await startApp(t, { env: { METRICS_TOKEN: 'metrics-token-for-the-document' } })
  const doc = (await app.inject({ url: '/openapi.json' })).json()
  return { app, doc }
}

t.test('every example in the document validates against its schema with the service Ajv', async (t) => {
  const { doc } = await servedDocument(t)
  let checked = 0
  for (const { name, operation } of operations(doc)) {
    for (const parameter of operation.parameters ?? []) {
      const where = `${name} parameter ${parameter.name}`
      if ('example' in parameter) {
        check(t, forText, where, parameter.example, parameter.schema)
        checked++
      }
      for (const [at, example, schema] of schemaExamples(parameter.schema, where)) {
        check(t, forText, at, example, schema)
        checked++
      }
    }
    for (const [type, media] of Object.entries<any>(operation.requestBody?.content ?? {})) {
      for (const [at, example, schema] of mediaExamples(media, `${name} request ${type}`)) {
        check(t, forBody, at, example, schema)
        checked++
      }
    }
    for (const [status, response] of Object.entries<any>(operation.responses)) {
      for (const [type, media] of Object.entries<any>(response.content ?? {})) {
        for (const [at, example, schema] of mediaExamples(media, `${name} ${status} ${type}`)) {
          check(t, forBody, at, example, schema)
          checked++
        }
      }
      for (const [header, value] of Object.entries<any>(response.headers ?? {})) {
        for (const [at, example, schema] of schemaExamples(value.schema, `${name} ${status} header ${header}`)) {
          check(t, forText, at, example, schema)
          checked++
        }
      }
    }
  }
  t.ok(checked > 100, `${checked} examples checked`)
})

t.test('a deliberately wrong example is caught', async (t) => {
  // The checker itself: an example that breaks its schema must not pass.
  const schema = { type: 'object', properties: { n: { type: 'integer', nullable: true } }, required: ['n'] }
  t.notOk(forBody.compile(schema)(structuredClone({ n: '1' })), 'a string where an integer belongs')
  t.notOk(forBody.compile(schema)({}), 'a missing field')
  t.ok(forBody.compile(schema)({ n: null }), 'nullable is understood')
})

t.test('every operation has an operationId, summary, security and the responses it needs', async (t) => {
  const { doc } = await servedDocument(t)
  const schemes = Object.keys(doc.components.securitySchemes)
  t.ok(doc.servers?.length > 0 && doc.servers.every((s: { url: string }) => s.url), 'servers is not empty')
  t.equal(doc.servers[0].url, 'http://localhost:3000', "servers is PUBLIC_URL (here, the default's)")
  const ids: string[] = []
  for (const { name, operation } of operations(doc)) {
    ids.push(operation.operationId)
    t.match(operation.operationId, /^[a-z][A-Za-z]+$/, `${name}: operationId`)
    t.ok(operation.summary, `${name}: summary`)
    t.ok(operation.description, `${name}: description`)
    t.ok(Array.isArray(operation.security), `${name}: security is stated`)
    for (const requirement of operation.security ?? []) {
      for (const scheme of Object.keys(requirement)) t.ok(schemes.includes(scheme), `${name}: ${scheme} is declared`)
    }
    const statuses = Object.keys(operation.responses)
    // A short link answers 302 by design; every other operation answers a 2xx.
    const success = operation.operationId === 'redirectShortLink' ? /^3\d\d$/ : /^2\d\d$/
    t.ok(
      statuses.some((s) => success.test(s)),
      `${name}: a success response`,
    )
    const takesInput =
      (operation.parameters ?? []).length > 0 || operation.requestBody !== undefined || operation.security.length > 0
    if (takesInput)
      t.ok(
        statuses.some((s) => /^4\d\d$/.test(s)),
        `${name}: takes input, so has a 4xx response`,
      )
    for (const status of statuses.filter((s) => /^4\d\d$/.test(s))) {
      const response = operation.responses[status]
      t.ok(response.description && response.description !== 'Default Response', `${name} ${status}: described`)
      const json = response.content?.['application/json']
      if (json) {
        t.same(json.schema.required?.sort(), ['error', 'message'], `${name} ${status}: the shared error body`)
        t.equal(json.example?.error?.length > 0, true, `${name} ${status}: an example code`)
        t.ok(
          response.description.includes(`\`${json.example.error}\``),
          `${name} ${status}: the description explains ${json.example.error}`,
        )
      }
    }
    for (const parameter of operation.parameters ?? []) {
      t.ok(parameter.description ?? parameter.schema?.description, `${name} ${parameter.name}: described`)
      if (parameter.schema?.default !== undefined) {
        t.notOk(parameter.required, `${name} ${parameter.name}: has a default, so a caller may leave it out`)
      }
    }
  }
  t.same([...ids].sort(), OPERATION_IDS, 'the operationIds, each once')
})

/** Fields without a description, at any depth (an array may carry it for its items). */
function* undescribed(schema: any, where: string): Generator<string> {
  if (schema === null || typeof schema !== 'object') return
  for (const [name, sub] of Object.entries<any>(schema.properties ?? {})) {
    if (!sub.description && !sub.items?.description) yield `${where}.${name}`
    yield* undescribed(sub, `${where}.${name}`)
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    for (const sub of schema[key] ?? []) yield* undescribed(sub, where)
  }
  if (typeof schema.items === 'object') yield* undescribed(schema.items, `${where}[]`)
}

t.test('every field of a request or an answer is described', async (t) => {
  const { doc } = await servedDocument(t)
  const missing: string[] = []
  for (const { operation } of operations(doc)) {
    for (const [type, media] of Object.entries<any>(operation.requestBody?.content ?? {})) {
      missing.push(...undescribed(media.schema, `${operation.operationId} request ${type}`))
    }
    for (const [status, response] of Object.entries<any>(operation.responses)) {
      for (const [type, media] of Object.entries<any>(response.content ?? {})) {
        missing.push(...undescribed(media.schema, `${operation.operationId} ${status} ${type}`))
      }
    }
  }
  t.same(missing, [], 'no field without a description')
})

t.test('examples show what the service answers: the same fields as a real answer', async (t) => {
  const { app, doc } = await servedDocument(t)
  const { key, host } = await createTenant(app, 's.brand.dk')
  const created = await postMessage(app, key, {
    links: [{ url: 'https://shop.example.dk/sale' }, { url: 'https://shop.example.dk/stores' }],
    recipients: ['cust-1001', 'cust-1002', 'cust-1003'],
  })
  t.equal(created.statusCode, 201)
  const message = created.json()
  t.equal(message.domain, host)
  await tap(app, message.recipients[0].links[0])
  const real = {
    getMessageStats: await stats(app, key, message.id),
    getMessage: (await app.inject({ url: `/v1/messages/${message.id}`, headers: bearer(key) })).json(),
  }
  // Every key path of a value; arrays by their first item.
  const shape = (value: any, prefix = ''): string[] => {
    if (Array.isArray(value)) return value.length > 0 ? shape(value[0], `${prefix}[]`) : [`${prefix}[]`]
    if (value === null || typeof value !== 'object') return [prefix]
    return Object.entries(value).flatMap(([k, v]) => [`${prefix}.${k}`, ...shape(v, `${prefix}.${k}`)])
  }
  // Records keyed by data (device, os, browser, revenue) hold different keys in each answer.
  const fixed = (paths: string[]) =>
    [...new Set(paths.filter((p) => !/\.breakdowns\.(device|os|browser)\.|\.revenue\./.test(p)))].sort()
  for (const { operation } of operations(doc)) {
    const answer = real[operation.operationId as keyof typeof real]
    if (!answer) continue
    const media = operation.responses['200'].content['application/json']
    const validate = forBody.compile(media.schema)
    t.ok(validate(structuredClone(answer)), `${operation.operationId}: the real answer matches the schema`, {
      errors: validate.errors,
    })
    // A null in either hides what is inside; compare where both have values.
    const examplePaths = fixed(shape(media.example))
    const realPaths = fixed(shape(answer))
    const both = (paths: string[], other: string[]) =>
      paths.filter((p) => other.some((o) => o === p || o.startsWith(`${p}.`) || p.startsWith(`${o}.`)))
    t.same(both(examplePaths, realPaths), examplePaths, `${operation.operationId}: the example has no invented field`)
    t.same(both(realPaths, examplePaths), realPaths, `${operation.operationId}: the example leaves no field out`)
  }
})

t.test("the dashboard's pages are not API operations: the document leaves them out", async (t) => {
  const { doc } = await servedDocument(t)
  t.same(
    Object.keys(doc.paths).filter((path) => path.startsWith('/dashboard')),
    [],
    'HTML pages for people, documented in docs/dashboard.md',
  )
})
