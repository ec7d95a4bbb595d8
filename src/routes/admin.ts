import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../services.js'
import { requireAdmin } from '../tenants/auth.js'
import { addDomain, createApiKey, createTenant } from '../tenants/tenants.js'
import { ErrorBody, Id, Label } from './schemas.js'

const TenantParams = Type.Object({ tenantId: Id('Tenant id, as returned by POST /v1/tenants') })
const adminErrors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

/** Tenants, their domains and keys; guarded by ADMIN_TOKEN. */
export const adminRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { store, domains, config } = services
  app.addHook('onRequest', requireAdmin(config.adminToken))

  app.post(
    '/v1/tenants',
    {
      schema: {
        description: 'Create a tenant: one customer (a brand) with its own domains, keys and messages.',
        body: Type.Object({ name: Label('Display name, shown on pages recipients see') }, { additionalProperties: false }),
        response: { 201: Type.Object({ id: Type.String(), name: Type.String() }), ...adminErrors },
      },
    },
    async (request, reply) => {
      const tenant = await createTenant(store, request.body.name)
      return reply.code(201).send({ id: tenant.publicId, name: tenant.name })
    },
  )

  app.post(
    '/v1/tenants/:tenantId/domains',
    {
      schema: {
        description: "Give a tenant a host for its short links. The host's DNS must point at this service.",
        params: TenantParams,
        body: Type.Object(
          {
            host: Type.String({ minLength: 1, maxLength: 260, description: 'e.g. s.brand.dk' }),
            scheme: Type.Optional(
              Type.Union([Type.Literal('https'), Type.Literal('http')], { description: 'Scheme of short links; default https' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ host: Type.String(), tenantId: Type.String() }), 409: ErrorBody, ...adminErrors },
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
        description: 'Create an API key for a tenant. The key is shown in this response only; it is stored hashed.',
        params: TenantParams,
        body: Type.Object({ name: Label('What the key is for, e.g. prod') }, { additionalProperties: false }),
        response: { 201: Type.Object({ id: Type.String(), key: Type.String() }), ...adminErrors },
      },
    },
    async (request, reply) => {
      return reply.code(201).send(await createApiKey(store, request.params.tenantId, request.body.name))
    },
  )
}
