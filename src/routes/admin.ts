import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Config } from '../config.js'
import type { Store } from '../db/store.js'
import type { AllowedHosts } from '../tenants/allowed-hosts.js'
import type { DomainRegistry } from '../tenants/domain-registry.js'
import { requireAdmin } from '../tenants/auth.js'
import { presentTenant } from '../tenants/present.js'
import { getAllowedHosts, MAX_ALLOWED_HOSTS, setAllowedHosts } from '../tenants/allowed-hosts.js'
import {
  addDomain,
  createApiKey,
  createTenant,
  listTenants,
  MAX_PAGE_TEXT,
  MAX_PAGE_TITLE,
  revokeApiKey,
  setDomainFallback,
  setTenantLanguage,
  setUnsubscribePageText,
  unsubscribePageTexts,
} from '../tenants/tenants.js'
import { adminErrors, bodyErrors, errorResponses, Id, Label, notFoundError, type ErrorUse } from './schemas.js'

const TenantParams = Type.Object({ tenantId: Id('Tenant id, ten_…, as returned by POST /v1/tenants') })
const noTenant = notFoundError('tenant', 'No such tenant')
const AUTH = 'Auth: the ADMIN_TOKEN the service runs with; without one configured, admin routes answer 403.'
/** What the OpenAPI document says about every route here. */
const docs = { tags: ['tenants'], security: [{ adminToken: [] }] }

const tenantExample = {
  id: 'ten_XFtXiS1ksBHcZQdt',
  name: 'Brand A/S',
  createdAt: '2026-11-23T13:05:53.871Z',
  language: 'da',
  domains: [{ host: 's.brand.dk', baseUrl: 'https://s.brand.dk' }],
}

const TenantBody = Type.Object(
  {
    id: Type.String({ description: 'Tenant id, ten_…' }),
    name: Type.String({ description: 'Display name' }),
    createdAt: Type.String({ format: 'date-time', description: 'When the tenant was created' }),
    language: Type.Union([Type.String(), Type.Null()], {
      description: "Default language of recipients' pages when a message sets none; null: the phone's",
    }),
    domains: Type.Array(
      Type.Object({
        host: Type.String({ description: 'The host, lower case, punycode' }),
        baseUrl: Type.String({ description: 'What short links start with' }),
      }),
      { description: "The tenant's hosts for short links" },
    ),
  },
  { examples: [tenantExample] },
)

/** Tenants, their domains and keys; guarded by ADMIN_TOKEN. */
export const adminRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  domains: DomainRegistry
  config: Pick<Config, 'adminToken'>
  allowedHosts: AllowedHosts
}> = async (app, services) => {
  const { store, domains, config, allowedHosts } = services
  app.addHook('onRequest', requireAdmin(config.adminToken))

  app.post(
    '/v1/tenants',
    {
      schema: {
        ...docs,
        operationId: 'createTenant',
        summary: 'Create a tenant',
        description: `Creates a tenant: one customer (a brand) with its own domains, keys and messages.\n\n${AUTH}`,
        body: Type.Object(
          { name: Label('Display name, shown on pages recipients see') },
          { additionalProperties: false, examples: [{ name: 'Brand A/S' }] },
        ),
        response: {
          201: Type.Object(
            {
              id: Type.String({ description: 'Tenant id, ten_…' }),
              name: Type.String({ description: 'Display name' }),
            },
            { description: 'Created', examples: [{ id: 'ten_XFtXiS1ksBHcZQdt', name: 'Brand A/S' }] },
          ),
          ...errorResponses('invalid_request', ...adminErrors, ...bodyErrors),
        },
      },
    },
    async (request, reply) => {
      const tenant = await createTenant(store, request.body.name)
      return reply.code(201).send({ id: tenant.publicId, name: tenant.name })
    },
  )

  app.get(
    '/v1/tenants',
    {
      schema: {
        ...docs,
        operationId: 'listTenants',
        summary: 'List tenants',
        description: `Every tenant with its domains, oldest first (not paged).\n\n${AUTH}`,
        response: {
          200: Type.Object(
            { tenants: Type.Array(TenantBody, { description: 'Oldest first' }) },
            { description: 'Every tenant', examples: [{ tenants: [tenantExample] }] },
          ),
          ...errorResponses(...adminErrors),
        },
      },
    },
    async () => ({ tenants: (await listTenants(store)).map(presentTenant) }),
  )

  app.post(
    '/v1/tenants/:tenantId/domains',
    {
      schema: {
        ...docs,
        operationId: 'addDomain',
        summary: 'Add a domain',
        description:
          "Gives a tenant a host for its short links. The host's DNS must point at this service. The host is " +
          'stored in lower case, international names as punycode, and a port is kept only when it is not the ' +
          `scheme's default (localhost:3000 with scheme http).\n\n${AUTH}`,
        params: TenantParams,
        body: Type.Object(
          {
            host: Type.String({ minLength: 1, maxLength: 260, description: 'A bare host, e.g. s.brand.dk' }),
            scheme: Type.Optional(
              Type.Union([Type.Literal('https'), Type.Literal('http')], {
                description: 'Scheme of short links; default https',
              }),
            ),
          },
          {
            additionalProperties: false,
            examples: [{ host: 's.brand.dk' }, { host: 'localhost:3000', scheme: 'http' }],
          },
        ),
        response: {
          201: Type.Object(
            {
              host: Type.String({ description: 'The host as stored' }),
              tenantId: Type.String({ description: 'Tenant id' }),
            },
            { description: 'Added', examples: [{ host: 's.brand.dk', tenantId: 'ten_XFtXiS1ksBHcZQdt' }] },
          ),
          ...errorResponses(
            'invalid_request',
            'invalid_host',
            ...adminErrors,
            noTenant,
            [
              'host_taken',
              409,
              'The host already belongs to a tenant, this one included',
              'host s.brand.dk already belongs to a tenant',
            ],
            ...bodyErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = request.params
      const domain = await addDomain(store, domains, tenantId, request.body.host, request.body.scheme)
      return reply.code(201).send({ host: domain.host, tenantId })
    },
  )

  app.post(
    '/v1/tenants/:tenantId/api-keys',
    {
      schema: {
        ...docs,
        operationId: 'createApiKey',
        summary: 'Create an API key',
        description:
          'Creates an API key for a tenant. The key is in this response only; the database keeps its SHA-256.' +
          `\n\n${AUTH}`,
        params: TenantParams,
        body: Type.Object(
          { name: Label('What the key is for, e.g. prod') },
          { additionalProperties: false, examples: [{ name: 'prod' }] },
        ),
        response: {
          201: Type.Object(
            {
              id: Type.String({ description: 'Key id, key_…, for revoking it' }),
              key: Type.String({ description: 'The key, sl_…: send it as a bearer token; shown only here' }),
            },
            {
              description: 'Created',
              examples: [{ id: 'key_cIeJk21EbJAVMFeg', key: 'sl_el55HF67xBXE9rbPodONX3wSC4hdI58uMe5Z8QoT' }],
            },
          ),
          ...errorResponses('invalid_request', ...adminErrors, noTenant, ...bodyErrors),
        },
      },
    },
    async (request, reply) => {
      return reply.code(201).send(await createApiKey(store, request.params.tenantId, request.body.name))
    },
  )

  app.delete(
    '/v1/tenants/:tenantId/api-keys/:keyId',
    {
      schema: {
        ...docs,
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key',
        description:
          "Revokes a key: from the next request on it gets 401 unauthorized; the tenant's other keys keep working. " +
          `Revoking a revoked key again is also 204 (a retry is safe).\n\n${AUTH}`,
        params: Type.Object({
          tenantId: Id('Tenant id'),
          keyId: Id('Key id, as returned by POST /v1/tenants/:tenantId/api-keys'),
        }),
        response: {
          204: Type.Null({ description: 'Revoked' }),
          ...errorResponses(
            'invalid_request',
            ...adminErrors,
            notFoundError(
              'API key',
              'No such tenant, no such key, or the key belongs to another tenant; nothing is revoked',
            ),
          ),
        },
      },
    },
    async (request, reply) => {
      await revokeApiKey(store, request.params.tenantId, request.params.keyId)
      return reply.code(204).send(null)
    },
  )

  const AllowedHostsBody = Type.Object(
    {
      hosts: Type.Array(
        Type.String({
          minLength: 1,
          maxLength: 255,
          description: 'shop.dk (that host) or *.shop.dk (any host below it)',
        }),
        {
          maxItems: MAX_ALLOWED_HOSTS,
          description: `Up to ${MAX_ALLOWED_HOSTS}; an empty list allows any destination`,
        },
      ),
    },
    { additionalProperties: false, examples: [{ hosts: ['*.shop.dk', 'shop.dk'] }] },
  )

  app.put(
    '/v1/tenants/:tenantId/allowed-hosts',
    {
      schema: {
        ...docs,
        operationId: 'setAllowedHosts',
        summary: 'Set allowed destination hosts',
        description:
          "Replaces a tenant's allow-list of destination hosts. With a list, a new message whose links (or URLs in its text) " +
          'go to any other host is refused with 400 destination_not_allowed, so a stolen API key cannot turn the ' +
          "tenant's domain into a phishing redirector. shop.dk allows that host; *.shop.dk allows any host below it " +
          '(not shop.dk itself: list both). Entries are stored as punycode, lower case, sorted, without repeats; an ' +
          `empty list (the default) allows anything. Messages created before keep redirecting.\n\n${AUTH}`,
        params: TenantParams,
        body: AllowedHostsBody,
        response: {
          200: { ...AllowedHostsBody, description: 'The list as stored' },
          ...errorResponses('invalid_request', 'invalid_host', ...adminErrors, noTenant, ...bodyErrors),
        },
      },
    },
    async (request) => setAllowedHosts(store, allowedHosts, request.params.tenantId, request.body.hosts),
  )

  app.get(
    '/v1/tenants/:tenantId/allowed-hosts',
    {
      schema: {
        ...docs,
        operationId: 'getAllowedHosts',
        summary: 'Allowed destination hosts',
        description: `A tenant's allow-list of destination hosts; empty when any destination is allowed.\n\n${AUTH}`,
        params: TenantParams,
        response: {
          200: { ...AllowedHostsBody, description: 'The list as stored' },
          ...errorResponses('invalid_request', ...adminErrors, noTenant),
        },
      },
    },
    async (request) => getAllowedHosts(store, allowedHosts, request.params.tenantId),
  )

  app.patch(
    '/v1/tenants/:tenantId/domains/:host',
    {
      schema: {
        ...docs,
        operationId: 'setDomainFallback',
        summary: "Set a domain's fallback URL",
        description:
          'Sets where links of this domain go once their message has expired (expiresAt). Without a fallback URL, ' +
          'an expired link answers 410 with a small page; null clears it. Checked like a destination URL and ' +
          `stored normalised. Takes effect on the next tap.\n\n${AUTH}`,
        params: Type.Object({
          tenantId: Id('Tenant id'),
          host: Type.String({ minLength: 1, maxLength: 260, description: 'The domain, e.g. s.brand.dk' }),
        }),
        body: Type.Object(
          {
            fallbackUrl: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
              description: 'An absolute http(s) URL, or null to clear it',
            }),
          },
          { additionalProperties: false, examples: [{ fallbackUrl: 'https://shop.dk' }] },
        ),
        response: {
          200: Type.Object(
            {
              host: Type.String({ description: 'The domain' }),
              tenantId: Type.String({ description: 'Tenant id' }),
              fallbackUrl: Type.Union([Type.String(), Type.Null()], { description: 'As stored, normalised' }),
            },
            {
              description: 'The domain with its fallback URL',
              examples: [{ host: 's.brand.dk', tenantId: 'ten_XFtXiS1ksBHcZQdt', fallbackUrl: 'https://shop.dk/' }],
            },
          ),
          ...errorResponses(
            'invalid_request',
            'invalid_url',
            ...adminErrors,
            notFoundError('domain', "No such tenant, or the host is not one of this tenant's domains"),
            ...bodyErrors,
          ),
        },
      },
    },
    async (request) => {
      const { tenantId, host } = request.params
      const domain = await setDomainFallback(store, domains, tenantId, host, request.body.fallbackUrl)
      return { host: domain.host, tenantId, fallbackUrl: domain.fallbackUrl }
    },
  )

  app.patch(
    '/v1/tenants/:tenantId',
    {
      schema: {
        ...docs,
        operationId: 'setTenantLanguage',
        summary: "Set a tenant's page language",
        description:
          "Sets the language of the tenant's recipients' pages (unsubscribe, expired link, link not found) for " +
          'messages that set none: da, de, en, nb, sv or zh-Hans, or an alias (no, nn, zh, zh-CN, zh-SG), stored as the ' +
          "canonical tag; null clears it. A page's language is the message's `language`, else this, else the phone's " +
          `Accept-Language, else English. Takes effect on the next page.\n\n${AUTH}`,
        params: TenantParams,
        body: Type.Object(
          {
            language: Type.Union([Type.String({ minLength: 1, maxLength: 16 }), Type.Null()], {
              description: 'A language tag, or null to clear it',
            }),
          },
          { additionalProperties: false, examples: [{ language: 'da' }, { language: null }] },
        ),
        response: {
          200: Type.Object(
            {
              id: Type.String({ description: 'Tenant id' }),
              name: Type.String({ description: 'Display name' }),
              language: Type.Union([Type.String(), Type.Null()], { description: 'As stored' }),
            },
            {
              description: 'The tenant with its language',
              examples: [{ id: 'ten_XFtXiS1ksBHcZQdt', name: 'Brand A/S', language: 'da' }],
            },
          ),
          ...errorResponses('invalid_request', 'unsupported_language', ...adminErrors, noTenant, ...bodyErrors),
        },
      },
    },
    async (request) => {
      const tenant = await setTenantLanguage(store, domains, request.params.tenantId, request.body.language)
      return { id: tenant.publicId, name: tenant.name, language: tenant.language }
    },
  )

  const PageTextParams = Type.Object({
    tenantId: Id('Tenant id'),
    language: Type.String({ minLength: 1, maxLength: 16, description: 'da, de, en, nb, sv or zh-Hans (or an alias)' }),
  })
  const PageTextBody = Type.Object(
    {
      language: Type.String({ description: 'The canonical tag' }),
      title: Type.String({ description: "The page's heading and window title" }),
      text: Type.String({ description: 'The paragraph above the button' }),
    },
    {
      examples: [
        {
          language: 'da',
          title: 'Afmeld SMS fra Barnets Verden',
          text: 'Tryk på knappen, så sender vi dig ikke flere tilbud på SMS. Ordrebekræftelser får du stadig.',
        },
      ],
    },
  )
  const invalidPageText: ErrorUse = [
    'invalid_page_text',
    400,
    `title (at most ${MAX_PAGE_TITLE} characters, one line) or text (at most ${MAX_PAGE_TEXT}) is empty, too long or holds control characters`,
    `title must be at most ${MAX_PAGE_TITLE} characters`,
  ]

  app.put(
    '/v1/tenants/:tenantId/page-texts/:language',
    {
      schema: {
        ...docs,
        operationId: 'setUnsubscribePageText',
        summary: 'Set the unsubscribe page wording',
        description:
          "The tenant's own title and text of the unsubscribe page in one language, instead of the built-in " +
          'wording (the button and the confirmation stay). Plain text: shown escaped, never as markup; trimmed; ' +
          `title one line of at most ${MAX_PAGE_TITLE} characters, text at most ${MAX_PAGE_TEXT}. Used whenever the page ` +
          `is shown in that language.\n\n${AUTH}`,
        params: PageTextParams,
        body: Type.Object(
          {
            title: Type.String({ minLength: 1, maxLength: 1000, description: "The page's heading and window title" }),
            text: Type.String({ minLength: 1, maxLength: 5000, description: 'The paragraph above the button' }),
          },
          {
            additionalProperties: false,
            examples: [
              {
                title: 'Afmeld SMS fra Barnets Verden',
                text: 'Tryk på knappen, så sender vi dig ikke flere tilbud på SMS. Ordrebekræftelser får du stadig.',
              },
            ],
          },
        ),
        response: {
          200: { ...PageTextBody, description: 'As stored' },
          ...errorResponses(
            'invalid_request',
            invalidPageText,
            'unsupported_language',
            ...adminErrors,
            noTenant,
            ...bodyErrors,
          ),
        },
      },
    },
    async (request) => {
      const { tenantId, language } = request.params
      return (await setUnsubscribePageText(store, tenantId, language, request.body))!
    },
  )

  app.delete(
    '/v1/tenants/:tenantId/page-texts/:language',
    {
      schema: {
        ...docs,
        operationId: 'removeUnsubscribePageText',
        summary: 'Remove the unsubscribe page wording',
        description: `Goes back to the built-in wording of the unsubscribe page in this language.\n\n${AUTH}`,
        params: PageTextParams,
        response: {
          204: Type.Null({ description: 'Removed (or there was none)' }),
          ...errorResponses('invalid_request', 'unsupported_language', ...adminErrors, noTenant),
        },
      },
    },
    async (request, reply) => {
      await setUnsubscribePageText(store, request.params.tenantId, request.params.language, null)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/tenants/:tenantId/page-texts',
    {
      schema: {
        ...docs,
        operationId: 'listUnsubscribePageTexts',
        summary: 'Unsubscribe page wordings',
        description: `The tenant's own unsubscribe page wordings, by language.\n\n${AUTH}`,
        params: TenantParams,
        response: {
          200: Type.Object(
            { pageTexts: Type.Array(PageTextBody, { description: 'By language' }) },
            { description: 'Every wording the tenant set' },
          ),
          ...errorResponses('invalid_request', ...adminErrors, noTenant),
        },
      },
    },
    async (request) => ({ pageTexts: await unsubscribePageTexts(store, request.params.tenantId) }),
  )
}
