import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { bearer, createTenant, json, stats, tap, startWithMessage, withEachBackend } from '../helpers.js'

type Report = { recipient: string; status: 'delivered' | 'failed'; at?: string }

const report = (app: FastifyInstance, key: string, messageId: string, reports: Report[]) =>
  app.inject({
    method: 'POST',
    url: `/v1/messages/${messageId}/deliveries`,
    headers: bearer(key),
    payload: { reports },
  })

const FIVE_RECIPIENTS = { links: [{ url: 'https://shop.dk' }], recipients: ['c1', 'c2', 'c3', 'c4', 'c5'] }

withEachBackend(t, (t) => {
  t.test('delivery reports move ctr onto delivered recipients', async (t) => {
    const { app, key, message } = await startWithMessage(t, FIVE_RECIPIENTS)
    await tap(app, message.recipients[0].links[0])
    const before = await stats(app, key, message.id)
    t.same(
      [before.delivered, before.failed, before.deliveryRate, before.ctr],
      [null, null, null, 0.2],
      'over recipients',
    )

    const response = await report(app, key, message.id, [
      { recipient: 'c1', status: 'delivered', at: '2026-11-23T10:00:00Z' },
      { recipient: 'c2', status: 'delivered', at: '2026-11-23T10:00:01Z' },
      { recipient: 'c3', status: 'failed', at: '2026-11-23T10:00:02Z' },
    ])
    t.equal(response.statusCode, 200)
    t.same(json(response), { applied: 3, outdated: 0, unknownRecipients: [] })
    const after = await stats(app, key, message.id)
    t.equal(after.delivered, 2)
    t.equal(after.failed, 1)
    t.equal(after.deliveryRate, 0.4, 'delivered ÷ recipients')
    t.equal(after.ctr, 0.5, '1 unique clicker ÷ 2 delivered')
  })

  t.test('a repeated report updates and never double-counts; the latest time wins', async (t) => {
    const { app, key, message } = await startWithMessage(t, FIVE_RECIPIENTS)
    await report(app, key, message.id, [{ recipient: 'c1', status: 'delivered', at: '2026-11-23T10:00:00Z' }])
    await report(app, key, message.id, [{ recipient: 'c1', status: 'delivered', at: '2026-11-23T10:00:00Z' }])
    let figures = await stats(app, key, message.id)
    t.same([figures.delivered, figures.failed], [1, 0], 'the same report twice counts once')

    await report(app, key, message.id, [{ recipient: 'c1', status: 'failed', at: '2026-11-23T10:05:00Z' }])
    figures = await stats(app, key, message.id)
    t.same([figures.delivered, figures.failed], [0, 1], 'delivered → failed moves the counters')
    t.equal(figures.ctr, null, 'nothing delivered: no CTR')

    const older = await report(app, key, message.id, [
      { recipient: 'c1', status: 'delivered', at: '2026-11-23T09:00:00Z' },
    ])
    t.same(json(older), { applied: 0, outdated: 1, unknownRecipients: [] })
    figures = await stats(app, key, message.id)
    t.same([figures.delivered, figures.failed], [0, 1], 'an older report arriving late changes nothing')

    // Both in one call, out of order: the later one stands.
    await report(app, key, message.id, [
      { recipient: 'c2', status: 'failed', at: '2026-11-23T11:00:00Z' },
      { recipient: 'c2', status: 'delivered', at: '2026-11-23T10:00:00Z' },
    ])
    figures = await stats(app, key, message.id)
    t.same([figures.delivered, figures.failed], [0, 2])
  })

  t.test('unknown recipients are listed back; the known ones are applied', async (t) => {
    const { app, key, message } = await startWithMessage(t, FIVE_RECIPIENTS)
    const response = await report(app, key, message.id, [
      { recipient: 'c1', status: 'delivered' },
      { recipient: 'nobody', status: 'delivered' },
      { recipient: 'c2', status: 'failed' },
      { recipient: 'ghost', status: 'failed' },
    ])
    t.same(json(response), { applied: 2, outdated: 0, unknownRecipients: ['nobody', 'ghost'] })
    const figures = await stats(app, key, message.id)
    t.same([figures.delivered, figures.failed, figures.deliveryRate], [1, 1, 0.2])
  })

  t.test('a call of 10,000 reports answers as one, whatever the order of its reports', async (t) => {
    const recipients = Array.from({ length: 5_000 }, (_, i) => `r${i}`)
    const { app, key, message } = await startWithMessage(t, { links: [{ url: 'https://shop.dk' }], recipients })
    const reports: Report[] = [
      // The latest report of r0 comes first; its older one comes last, far behind.
      { recipient: 'r0', status: 'failed', at: '2026-11-23T12:00:00Z' },
      ...recipients
        .slice(1)
        .map((recipient): Report => ({ recipient, status: 'delivered', at: '2026-11-23T10:00:00Z' })),
      ...recipients
        .slice(2)
        .map((recipient): Report => ({ recipient, status: 'delivered', at: '2026-11-23T10:00:00Z' })),
      { recipient: 'stranger', status: 'delivered' },
      { recipient: 'r0', status: 'delivered', at: '2026-11-23T09:00:00Z' },
    ]
    t.equal(reports.length, 10_000)
    const response = await report(app, key, message.id, reports)
    t.equal(response.statusCode, 200)
    // A repeated report of the same time is applied again (and changes nothing); r0's older one, far behind, is not.
    t.same(json(response), { applied: 9_998, outdated: 1, unknownRecipients: ['stranger'] })
    const figures = await stats(app, key, message.id)
    t.same([figures.delivered, figures.failed], [4_999, 1])
  })

  t.test('bad reports are refused and change nothing', async (t) => {
    const { app, key, message } = await startWithMessage(t, FIVE_RECIPIENTS)
    const bad: unknown[] = [
      [],
      [{ recipient: 'c1', status: 'read' }],
      [{ recipient: 'c1', status: 'delivered', at: 'yesterday' }],
      [{ recipient: 'c1', status: 'delivered', extra: 1 }],
      Array.from({ length: 10_001 }, () => ({ recipient: 'c1', status: 'delivered' })),
    ]
    for (const reports of bad) {
      const response = await app.inject({
        method: 'POST',
        url: `/v1/messages/${message.id}/deliveries`,
        headers: bearer(key),
        payload: { reports },
      })
      t.equal(response.statusCode, 400)
      t.equal(json(response).error, 'invalid_request')
    }
    const figures = await stats(app, key, message.id)
    t.equal(figures.delivered, null)
  })

  t.test("another tenant's key gets 404 and changes nothing", async (t) => {
    const { app, key, message } = await startWithMessage(t, FIVE_RECIPIENTS)
    const other = await createTenant(app, 's.other.dk', 'Other')
    const response = await report(app, other.key, message.id, [{ recipient: 'c1', status: 'delivered' }])
    t.equal(response.statusCode, 404)
    t.same(json(response), { error: 'not_found', message: 'message not found' })
    t.equal((await stats(app, key, message.id)).delivered, null)
  })
})
