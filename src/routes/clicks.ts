import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Readable } from 'node:stream'
import { Type } from 'typebox'
import { clickLines, clickPage } from '../clicks/export.js'
import { notFound } from '../errors.js'
import type { Store } from '../db/store.js'
import { requireApiKey } from '../tenants/auth.js'
import { apiKeyErrors, errorResponses, Id, notFoundError } from './schemas.js'

const Nullable = (description: string) => Type.Union([Type.String(), Type.Null()], { description })

const ExportedClickBody = Type.Object({
  at: Type.String({ format: 'date-time', description: 'When the tap came' }),
  link: Type.String({ description: 'Link id' }),
  recipient: Nullable("The sender's recipient id; null for a click without a valid token"),
  class: Type.Union([Type.Literal('human'), Type.Literal('bot'), Type.Literal('preview')], {
    description:
      "human, bot (bots, HEAD, too fast, bursts, sweeps) or preview (a chat app's link preview); a click made " +
      'within SWEEP_WINDOW_MS of sending shows as human until its verdict settles (the stats count it as pending)',
  }),
  reason: Nullable(
    'Why the click is not human (head_request, bot_user_agent, preview_user_agent, no_user_agent, too_fast, burst, sweep); null for human',
  ),
  device: Nullable('Device type from the user agent: mobile, tablet, desktop, unknown…; null without a user agent'),
  os: Nullable('Operating system from the user agent'),
  browser: Nullable('Browser from the user agent'),
})

const clickExample = {
  at: '2026-11-23T14:02:11.482Z',
  link: 'lnk_uSVi6oc0ahwxMLT2',
  recipient: 'cust-1001',
  class: 'human',
  reason: null,
  device: 'mobile',
  os: 'iOS',
  browser: 'Mobile Safari',
}

/** Streams lines as they are produced (the response schema describes the JSON pages only). */
function sendNdjson(reply: FastifyReply, lines: AsyncGenerator<string>): FastifyReply {
  return reply.type('application/x-ndjson').send(Readable.from(lines))
}

/** Raw clicks of a message, for breakdowns of one's own and audits of the classification. */
export const clickRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, services) => {
  const { store } = services
  app.addHook('onRequest', requireApiKey(store))

  app.get(
    '/v1/messages/:id/clicks',
    {
      schema: {
        tags: ['analytics'],
        security: [{ apiKey: [] }],
        operationId: 'listMessageClicks',
        summary: "Export a message's clicks",
        description:
          "A message's raw clicks, oldest first, each with its class, the reason that decided it, and device type, OS " +
          'and browser from its user agent. Pass nextCursor as cursor for the next page. ' +
          'Accept: application/x-ndjson streams every click from the cursor on, one per line, without paging (read in ' +
          "chunks of 1,000, so memory stays flat).\n\nAuth: a tenant's API key.",
        params: Type.Object({ id: Id('Message id, msg_…') }),
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Clicks per page' }),
            cursor: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'The nextCursor of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              clicks: Type.Array(ExportedClickBody, { description: 'Oldest first' }),
              nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
            },
            { description: 'A page of clicks', examples: [{ clicks: [clickExample], nextCursor: 'YzQy' }] },
          ),
          ...errorResponses(
            'invalid_request',
            'invalid_cursor',
            ...apiKeyErrors,
            notFoundError('message', 'No such message for this tenant'),
          ),
        },
      },
    },
    async (request, reply) => {
      const message = await store.getMessage(request.tenantId, request.params.id)
      if (!message) throw notFound('message')
      if (/\bapplication\/x-ndjson\b/i.test(request.headers.accept ?? '')) {
        return sendNdjson(reply, clickLines(store, message, request.query.cursor))
      }
      return clickPage(store, message, request.query.cursor, request.query.limit)
    },
  )
}
