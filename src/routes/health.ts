import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { checkReadiness } from '../operations/readiness.js'
import type { ClickRecorder } from '../clicks/recorder.js'
import type { Store } from '../db/store.js'

/** What the OpenAPI document says about every route here: no auth. */
const docs = { tags: ['operations'], security: [] }

/** Liveness and readiness probes: no auth, any host, never logged. */
export const healthRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  recorder: ClickRecorder
}> = async (app, services) => {
  app.get(
    '/healthz',
    {
      config: { hosts: 'any' },
      logLevel: 'silent',
      schema: {
        ...docs,
        operationId: 'getLiveness',
        summary: 'Liveness',
        description:
          'Liveness: 200 once the service can serve. Says nothing about the database; see /readyz. No auth, ' +
          'answers on any host, never logged.',
        response: {
          200: Type.Object(
            { status: Type.Literal('ok', { description: 'Always ok' }) },
            { description: 'Serving', examples: [{ status: 'ok' }] },
          ),
        },
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
        operationId: 'getReadiness',
        summary: 'Readiness',
        description:
          'Readiness: 200 when the database takes a write (each call commits one tiny write to a settings row) and ' +
          "the click queue is below CLICK_QUEUE_MAX; otherwise 503 with the reasons, and the database's own error " +
          'goes to the log. While not ready the service still redirects. No auth, any host, never logged.',
        response: {
          200: Type.Object(
            { status: Type.Literal('ready', { description: 'Always ready' }) },
            { description: 'Ready', examples: [{ status: 'ready' }] },
          ),
          503: Type.Object(
            {
              status: Type.Literal('not_ready', { description: 'Always not_ready' }),
              reasons: Type.Array(
                Type.Union([Type.Literal('database_not_writable'), Type.Literal('click_queue_full')]),
                { description: 'database_not_writable and/or click_queue_full' },
              ),
            },
            {
              description: 'Not ready, with the reasons',
              examples: [{ status: 'not_ready', reasons: ['database_not_writable'] }],
            },
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
