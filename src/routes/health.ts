import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { checkReadiness } from '../operations/readiness.js'
import type { Services } from '../services.js'

const docs = { tags: ['operations'] }

/** Liveness and readiness probes: no auth, any host, never logged. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/healthz',
    {
      config: { hosts: 'any' },
      logLevel: 'silent',
      schema: {
        ...docs,
        summary: 'Liveness',
        description: 'Liveness: 200 once the service can serve. Says nothing about the database; see /readyz.',
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { examples: [{ status: 'ok' }] }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      logLevel: 'silent',
      schema: {
        ...docs,
        summary: 'Readiness',
        description:
          'Readiness: 200 when the database takes a write and the click queue has room; otherwise 503 with the reasons. ' +
          'Each call commits one tiny write.',
        response: {
          200: Type.Object({ status: Type.Literal('ready') }, { examples: [{ status: 'ready' }] }),
          503: Type.Object(
            {
              status: Type.Literal('not_ready'),
              reasons: Type.Array(
                Type.Union([Type.Literal('database_not_writable'), Type.Literal('click_queue_full')]),
              ),
            },
            { examples: [{ status: 'not_ready', reasons: ['database_not_writable'] }] },
          ),
        },
      },
    },
    async (_request, reply) => {
      const readiness = await checkReadiness(services.store, services.recorder, app.log)
      if (readiness.ready) return reply.code(200).send({ status: 'ready' as const })
      return reply.code(503).send({ status: 'not_ready' as const, reasons: readiness.reasons })
    },
  )
}
