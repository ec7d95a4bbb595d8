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
  revokeApiKey,
  setDomainFallback,
} from '../tenants/tenants.js'
import { ErrorBody, ErrorExample, Id, Label } from './schemas.js'

const TenantParams = Type.Object({ tenantId: Id('Tenant id, as returned by POST /v1/tenants') })
const adminErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }
/** What the OpenAPI document says about every route here. */
const docs = { tags: ['tenants'], security: [{ adminToken: [] }] }

const tenantExample = {
  id: 'ten_XFtXiS1ksBHcZQdt',
  name: 'Brand A/S',
  createdAt: '2026-11-23T13:05:53.871Z',
  domains: [{ host: 's.brand.dk', baseUrl: 'https://s.brand.dk' }],
}

const TenantBody = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    domains: Type.Array(
      Type.Object({ host: Type.String(), baseUrl: Type.String({ description: 'What short links start with' }) }),
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
        summary: 'Create a tenant',
        description: 'Create a tenant: one customer (a brand) with its own domains, keys and messages.',
        body: Type.Object(
          { name: Label('Display name, shown on pages recipients see') },
          { additionalProperties: false, examples: [{ name: 'Brand A/S' }] },
        ),
        response: {
          201: Type.Object(
            { id: Type.String(), name: Type.String() },
            { examples: [{ id: 'ten_XFtXiS1ksBHcZQdt', name: 'Brand A/S' }] },
          ),
          ...adminErrors,
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
        summary: 'List tenants',
        description: 'Every tenant with its domains, oldest first.',
        response: {
          200: Type.Object({ tenants: Type.Array(TenantBody) }, { examples: [{ tenants: [tenantExample] }] }),
          ...adminErrors,
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
        summary: 'Add a domain',
        description: "Give a tenant a host for its short links. The host's DNS must point at this service.",
        params: TenantParams,
        body: Type.Object(
          {
            host: Type.String({ minLength: 1, maxLength: 260, description: 'e.g. s.brand.dk' }),
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
            { host: Type.String(), tenantId: Type.String() },
            { examples: [{ host: 's.brand.dk', tenantId: 'ten_XFtXiS1ksBHcZQdt' }] },
          ),
          409: ErrorBody,
          ...adminErrors,
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
        summary: 'Create an API key',
        description: 'Create an API key for a tenant. The key is shown in this response only; it is stored hashed.',
        params: TenantParams,
        body: Type.Object(
          { name: Label('What the key is for, e.g. prod') },
          { additionalProperties: false, examples: [{ name: 'prod' }] },
        ),
        response: {
          201: Type.Object(
            { id: Type.String(), key: Type.String() },
            { examples: [{ id: 'key_cIeJk21EbJAVMFeg', key: 'sl_el55HF67xBXE9rbPodONX3wSC4hdI58uMe5Z8QoT' }] },
          ),
          ...adminErrors,
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
        summary: 'Revoke an API key',
        description:
          'Revoke a key: requests with it are refused (401) from now on. Revoking a revoked key again is a 204; ' +
          "an unknown key, or another tenant's, is a 404.",
        params: Type.Object({
          tenantId: Id('Tenant id'),
          keyId: Id('Key id, as returned by POST /v1/tenants/:tenantId/api-keys'),
        }),
        response: {
          204: Type.Null({ description: 'Revoked' }),
          ...adminErrors,
          404: ErrorExample('not_found', 'API key not found'),
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
        summary: 'Set allowed destination hosts',
        description:
          "Replace a tenant's allow-list of destination hosts. With a list, a new message whose links (or URLs in its text) " +
          'go to any other host is refused with 400 destination_not_allowed, so a stolen API key cannot turn the ' +
          "tenant's domain into a phishing redirector. Entries are stored as punycode, lower case, sorted; an empty list allows anything. " +
          'Messages already created are not affected.',
        params: TenantParams,
        body: AllowedHostsBody,
        response: { 200: AllowedHostsBody, ...adminErrors },
      },
    },
    async (request) => setAllowedHosts(store, allowedHosts, request.params.tenantId, request.body.hosts),
  )

  app.get(
    '/v1/tenants/:tenantId/allowed-hosts',
    {
      schema: {
        ...docs,
        summary: 'Allowed destination hosts',
        description: "A tenant's allow-list of destination hosts; empty when any destination is allowed.",
        params: TenantParams,
        response: { 200: AllowedHostsBody, ...adminErrors },
      },
    },
    async (request) => getAllowedHosts(store, allowedHosts, request.params.tenantId),
  )

  app.patch(
    '/v1/tenants/:tenantId/domains/:host',
    {
      schema: {
        ...docs,
        summary: "Set a domain's fallback URL",
        description:
          'Where links of this domain go once their message has expired (expiresAt). Without a fallback URL, ' +
          'an expired link answers 410 with a small page. null clears it. Checked like a destination URL.',
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
            { host: Type.String(), tenantId: Type.String(), fallbackUrl: Type.Union([Type.String(), Type.Null()]) },
            { examples: [{ host: 's.brand.dk', tenantId: 'ten_XFtXiS1ksBHcZQdt', fallbackUrl: 'https://shop.dk/' }] },
          ),
          ...adminErrors,
          404: ErrorExample('not_found', 'domain not found'),
        },
      },
    },
    async (request) => {
      const { tenantId, host } = request.params
      const domain = await setDomainFallback(store, domains, tenantId, host, request.body.fallbackUrl)
      return { host: domain.host, tenantId, fallbackUrl: domain.fallbackUrl }
    },
  )
}
