import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Store } from '../db/store.js'
import type { SuppressionKeys } from '../recipients/suppression.js'
import { requireApiKey } from '../tenants/auth.js'
import { listOptOuts } from '../unsubscribe/optouts.js'
import {
  MAX_OPT_OUTS_PER_CALL,
  recordReportedOptOuts,
  resubscribe,
  type ReportedOutcome,
} from '../unsubscribe/record-optouts.js'
import { notFound } from '../errors.js'
import { apiKeyErrors, bodyErrors, errorResponses, Label, type ErrorUse } from './schemas.js'

const docs = { tags: ['opt-outs'], security: [{ apiKey: [] }] }
const AUTH = "Auth: a tenant's API key."
/** 100,000 entries of about 130 bytes, with room to spare. */
const BATCH_BODY_LIMIT = 24 * 1024 * 1024

const ISO_TIME = '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d(:\\d\\d(\\.\\d{1,9})?)?(Z|[+-]\\d\\d:\\d\\d)$'

const Source = Type.Union([
  Type.Literal('link'),
  Type.Literal('reply'),
  Type.Literal('import'),
  Type.Literal('support'),
])

const ReportedOptOutBody = Type.Object(
  {
    recipient: Label("The sender's own recipient id, as given when creating messages"),
    source: Type.Union([Type.Literal('reply'), Type.Literal('import'), Type.Literal('support')], {
      description:
        'How the opt-out reached you: reply (the recipient answered a text with STOP, AFMELD, 回T退订 …), import ' +
        '(from a list kept elsewhere) or support (asked your staff). Opt-outs by link come from the unsubscribe page',
    }),
    // A pattern, not format date-time: checking 100,000 of these costs a tenth as much,
    // and the time is parsed and checked again when the opt-outs are planned.
    at: Type.String({
      pattern: ISO_TIME,
      description: 'When the recipient opted out: an ISO 8601 date and time with Z or an offset; not in the future',
    }),
    messageId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "The message it answers (msg_…); the recipient must be one of its recipients. Left out: the recipient's " +
          'latest message of this tenant created at or before `at`, if any',
      }),
    ),
  },
  { additionalProperties: false },
)

const replyExample = { recipient: 'cust-1002', source: 'reply', at: '2026-11-23T13:25:02Z' }

/** The errors of an opt-out the store refuses, naming the entry. */
const optOutErrors: ErrorUse[] = [
  [
    'invalid_time',
    400,
    '`at` is not a time, or lies in the future',
    'at 2031-01-01T00:00:00Z is in the future; give when it happened',
  ],
  [
    'unknown_message',
    400,
    "messageId is not one of this tenant's messages",
    "messageId msg_p7Z666gD109LzY4S is not one of this tenant's messages",
  ],
  [
    'not_a_recipient',
    400,
    'The recipient is not a recipient of the message messageId names',
    'cust-9 is not a recipient of msg_p7Z666gD109LzY4S; leave messageId out to use their latest message',
  ],
]

const EntryOutcome = {
  recipient: Type.String({ description: "The sender's recipient id" }),
  messageId: Type.Union([Type.String(), Type.Null()], {
    description:
      'The message the opt-out answers; null when no message of the tenant went to the recipient before `at`',
  }),
  added: Type.Boolean({
    description: 'Newly on the opt-out list; false: it was on it already (kept once, from its first opt-out)',
  }),
  counted: Type.Boolean({
    description:
      "Counted in the message's unsubscribes now; false without a message, or when the recipient already counted there",
  }),
}

/** The tenant's suppression list, for senders to keep their own in sync. */
export const optOutRoutes: FastifyPluginAsyncTypebox<{
  store: Store
  suppressionKeys: SuppressionKeys
  now: () => number
}> = async (app, services) => {
  const { store, now } = services
  app.addHook('onRequest', requireApiKey(services.store))

  app.get(
    '/v1/optouts',
    {
      schema: {
        tags: ['opt-outs'],
        security: [{ apiKey: [] }],
        operationId: 'listOptOuts',
        summary: 'List opt-outs',
        description:
          "The changes of the tenant's opt-out list, oldest first, so you can keep your own suppression list in " +
          'sync: opt-outs (`change: optout`) by every channel (`source`: link for a confirmed unsubscribe page, ' +
          'reply, import or support for those posted to POST /v1/optouts) and re-subscribes (`change: ' +
          'resubscribe`, from DELETE /v1/optouts/{recipient}). A recipient is opted out once, from its first ' +
          'opt-out, until a re-subscribe; opting out again afterwards is a new entry. An erased recipient shows as ' +
          'erased:… (a keyed hash of the id). `nextCursor` is always set, on the last page too: keep it and pass it ' +
          'as `since` next time to get only what came after. `hasMore` says whether to ask again at once.\n\n' +
          AUTH,
        querystring: Type.Object(
          {
            since: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'nextCursor of an earlier page' }),
            ),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Opt-outs per page' }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              optOuts: Type.Array(
                Type.Object({
                  recipient: Type.String({ description: "The sender's own recipient id" }),
                  change: Type.Union([Type.Literal('optout'), Type.Literal('resubscribe')], {
                    description: 'optout: put on the list; resubscribe: taken off it',
                  }),
                  source: Type.Union([Source, Type.Null()], {
                    description: 'How the opt-out came; null for a re-subscribe',
                  }),
                  messageId: Type.Union([Type.String(), Type.Null()], {
                    description: 'The message the opt-out answers; null when none (and for a re-subscribe)',
                  }),
                  at: Type.String({ format: 'date-time', description: 'When it happened' }),
                }),
                { description: 'Oldest first' },
              ),
              nextCursor: Type.String({ description: 'Pass as since for the next page, or later for new opt-outs' }),
              hasMore: Type.Boolean({ description: 'More opt-outs wait: ask again at once' }),
            },
            {
              description: 'A page of opt-outs',
              examples: [
                {
                  optOuts: [
                    {
                      recipient: 'cust-1002',
                      change: 'optout',
                      source: 'link',
                      messageId: 'msg_p7Z666gD109LzY4S',
                      at: '2026-11-23T13:20:41.118Z',
                    },
                    {
                      recipient: 'cust-1003',
                      change: 'optout',
                      source: 'reply',
                      messageId: 'msg_p7Z666gD109LzY4S',
                      at: '2026-11-23T13:25:02.000Z',
                    },
                    {
                      recipient: 'cust-1002',
                      change: 'resubscribe',
                      source: null,
                      messageId: null,
                      at: '2026-12-01T08:00:00.000Z',
                    },
                  ],
                  nextCursor: 'bzE',
                  hasMore: false,
                },
              ],
            },
          ),
          ...errorResponses(
            'invalid_request',
            [
              'invalid_cursor',
              400,
              'since is not a nextCursor from an earlier answer',
              'since must be a nextCursor value from an earlier page',
            ],
            ...apiKeyErrors,
          ),
        },
      },
    },
    async (request) => listOptOuts(store, request.tenantId, request.query.since, request.query.limit),
  )

  app.post(
    '/v1/optouts',
    {
      schema: {
        ...docs,
        operationId: 'recordOptOut',
        summary: 'Record an opt-out received another way',
        description:
          'Puts a recipient on the opt-out list for an opt-out you received another way than the unsubscribe page: ' +
          'a reply to a text (STOP, AFMELD, STOPP, 回T退订 …), an import, or a request to your support. It joins the ' +
          'same list as link opt-outs: the feed (GET /v1/optouts), `optedOut: true` on later messages, and ' +
          '`unsubscribe` webhook events (with its `source`). It counts in the stats of the message it answers ' +
          "(`messageId`, or by default the recipient's latest message before `at`) under `unsubscribes.bySource`. " +
          'Posting the same opt-out again keeps it once: 200 with `added: false` instead of 201.\n\n' +
          AUTH,
        body: { ...ReportedOptOutBody, examples: [replyExample] },
        response: {
          201: Type.Object(EntryOutcome, {
            description: 'Added to the list',
            examples: [{ recipient: 'cust-1002', messageId: 'msg_p7Z666gD109LzY4S', added: true, counted: true }],
          }),
          200: Type.Object(EntryOutcome, {
            description: 'Already on the list: kept once',
            examples: [{ recipient: 'cust-1002', messageId: 'msg_p7Z666gD109LzY4S', added: false, counted: false }],
          }),
          ...errorResponses('invalid_request', ...optOutErrors, ...apiKeyErrors, ...bodyErrors),
        },
      },
    },
    async (request, reply) => {
      const outcome = await recordReportedOptOuts(store, request.tenantId, [request.body], now(), () => 'the opt-out')
      const entry = outcome.entries[0]!
      return reply.code(entry.added ? 201 : 200).send(entry)
    },
  )

  app.post(
    '/v1/optouts/batch',
    {
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        ...docs,
        operationId: 'importOptOuts',
        summary: 'Import opt-outs',
        description:
          `Up to ${MAX_OPT_OUTS_PER_CALL.toLocaleString('en')} opt-outs in one call, each as POST /v1/optouts takes ` +
          'it, stored in order. Every entry is checked first: one bad entry refuses the whole call, naming it ' +
          '(`optOuts[17]`), and nothing is stored. A recipient already on the list, or repeated in the call, is kept ' +
          'once and counted in `alreadyOptedOut`. Recipients no message of the tenant went to before `at` are put on ' +
          'the list all the same (so later messages say `optedOut: true`) and named in `unknownRecipients`. Large ' +
          'imports are stored in slices; a call cut short can be posted again as it was.\n\n' +
          AUTH,
        body: Type.Object(
          {
            optOuts: Type.Array(ReportedOptOutBody, {
              minItems: 1,
              maxItems: MAX_OPT_OUTS_PER_CALL,
              description: `1 to ${MAX_OPT_OUTS_PER_CALL} opt-outs`,
            }),
          },
          {
            additionalProperties: false,
            examples: [
              {
                optOuts: [
                  replyExample,
                  { recipient: 'cust-2001', source: 'import', at: '2026-06-30T00:00:00Z' },
                  {
                    recipient: 'cust-1003',
                    source: 'support',
                    at: '2026-11-24T15:40:00Z',
                    messageId: 'msg_p7Z666gD109LzY4S',
                  },
                ],
              },
            ],
          },
        ),
        response: {
          200: Type.Object(
            {
              received: Type.Integer({ description: 'Entries in the call' }),
              added: Type.Integer({ description: 'Entries that put a recipient on the list' }),
              alreadyOptedOut: Type.Integer({
                description: 'Entries whose recipient was on the list already, or came earlier in the call',
              }),
              counted: Type.Integer({ description: "Entries counted in their message's unsubscribes" }),
              unknownRecipients: Type.Array(Type.String(), {
                description:
                  'Recipients whose opt-out answers no message (none named, and no message of the tenant went to them ' +
                  'at or before `at`); they are on the list all the same',
              }),
            },
            {
              description: 'Stored',
              examples: [{ received: 3, added: 2, alreadyOptedOut: 1, counted: 1, unknownRecipients: ['cust-2001'] }],
            },
          ),
          ...errorResponses('invalid_request', ...optOutErrors, ...apiKeyErrors, ...bodyErrors),
        },
      },
    },
    async (request): Promise<Omit<ReportedOutcome, 'entries'>> => {
      const { entries: _entries, ...outcome } = await recordReportedOptOuts(
        store,
        request.tenantId,
        request.body.optOuts,
        now(),
        (i) => `optOuts[${i}] (${request.body.optOuts[i]!.recipient})`,
      )
      return outcome
    },
  )

  app.delete(
    '/v1/optouts/:recipient',
    {
      schema: {
        ...docs,
        operationId: 'resubscribe',
        summary: 'Re-subscribe a recipient',
        description:
          'Takes a recipient off the opt-out list because they opted back in with you. The change is kept: it shows ' +
          'in the feed (GET /v1/optouts) as `change: resubscribe` and goes to `unsubscribe` webhooks as a ' +
          '`resubscribe` event; later messages say `optedOut: false` again. Counts of past messages stay. 404 when ' +
          'the recipient is not on the list.\n\n' +
          AUTH,
        params: Type.Object({ recipient: Label("The sender's own recipient id") }),
        response: {
          200: Type.Object(
            {
              recipient: Type.String({ description: "The sender's recipient id" }),
              change: Type.Literal('resubscribe', { description: 'What was recorded' }),
              at: Type.String({ format: 'date-time', description: 'When it was recorded' }),
            },
            {
              description: 'Taken off the list',
              examples: [{ recipient: 'cust-1002', change: 'resubscribe', at: '2026-12-03T10:02:11.514Z' }],
            },
          ),
          ...errorResponses('invalid_request', ...apiKeyErrors, [
            'not_found',
            404,
            'The recipient is not on the opt-out list',
            'recipient not found on the opt-out list',
          ]),
        },
      },
    },
    async (request) => {
      const at = now()
      if (!(await resubscribe(services, request.tenantId, request.params.recipient, at))) {
        throw notFound('recipient on the opt-out list')
      }
      return { recipient: request.params.recipient, change: 'resubscribe' as const, at: new Date(at).toISOString() }
    },
  )
}
