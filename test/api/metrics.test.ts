import t from 'tap'
import { metricsPort, scrape } from '../fixtures/metrics.js'
import { bearer, createTenant, flushClicks, json, postMessage, startApp, tap } from '../helpers.js'
import { LOCAL_RECEIVERS, startReceiver } from '../fixtures/webhook-receiver.js'

t.test('/metrics is Prometheus text with the service and process metrics', async (t) => {
  const app = await startApp(t)
  const response = await (await metricsPort(app)).inject({ url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  for (const [name, type] of [
    ['smslinks_redirects_total', 'counter'],
    ['smslinks_redirect_duration_seconds', 'histogram'],
    ['smslinks_link_cache_hits_total', 'counter'],
    ['smslinks_link_cache_misses_total', 'counter'],
    ['smslinks_link_cache_entries', 'gauge'],
    ['smslinks_cache_changes_applied_total', 'counter'],
    ['smslinks_cache_reloads_total', 'counter'],
    ['smslinks_click_queue_depth', 'gauge'],
    ['smslinks_recipients_thread_bodies_total', 'counter'],
    ['smslinks_recipients_thread_calls', 'gauge'],
    ['smslinks_click_queue_capacity', 'gauge'],
    ['smslinks_clicks_written_total', 'counter'],
    ['smslinks_clicks_dropped_total', 'counter'],
    ['smslinks_click_flush_duration_seconds', 'histogram'],
    ['smslinks_webhook_backlog', 'gauge'],
    ['smslinks_event_loop_stall_seconds', 'histogram'],
    ['smslinks_api_queue_depth', 'gauge'],
    ['smslinks_api_requests_deferred_total', 'counter'],
    ['process_cpu_seconds_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
    ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
  ]) {
    t.match(response.body, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${name} ${type}`)
  }
})

t.test('redirects move the counters by outcome, the cache, queue and written figures', async (t) => {
  const app = await startApp(t)
  const { key } = await createTenant(app)
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  const before = await scrape(app)
  t.equal(before.get('smslinks_redirects_total{outcome="redirected"}'), 0)

  t.equal((await tap(app, message.recipients[0].links[0])).statusCode, 302)
  t.equal((await tap(app, message.recipients[1].links[0])).statusCode, 302)
  t.equal((await tap(app, 'https://s.shop.dk/zzzzzz-0abc')).statusCode, 404, 'no such code')
  t.equal((await tap(app, 'https://s.shop.dk/not-a-code')).statusCode, 404, 'not a code at all')
  t.equal((await tap(app, 'https://elsewhere.dk/' + message.links[0].code)).statusCode, 404, 'unknown host')

  const queued = await scrape(app)
  t.equal(queued.get('smslinks_redirects_total{outcome="redirected"}'), 2)
  t.equal(queued.get('smslinks_redirects_total{outcome="not_found"}'), 2)
  t.equal(queued.get('smslinks_redirects_total{outcome="unknown_host"}'), 1)
  t.equal(queued.get('smslinks_redirect_duration_seconds_count'), 2, 'one latency per redirect')
  t.equal(queued.get('smslinks_redirect_duration_seconds_bucket{le="+Inf"}'), 2)
  t.ok(queued.get('smslinks_redirect_duration_seconds_sum')! > 0)
  t.equal(queued.get('smslinks_link_cache_misses_total'), 2, 'the real code and the unknown one, once each')
  t.equal(queued.get('smslinks_link_cache_hits_total'), 1, 'the second tap on the real code')
  t.equal(queued.get('smslinks_link_cache_entries'), 1)
  t.equal(queued.get('smslinks_click_queue_depth'), 2)
  t.equal(queued.get('smslinks_clicks_written_total'), 0)

  await flushClicks(app)
  const written = await scrape(app)
  t.equal(written.get('smslinks_click_queue_depth'), 0)
  t.equal(written.get('smslinks_clicks_written_total'), 2)
  t.equal(written.get('smslinks_click_flush_duration_seconds_count'), 1, 'one batch')
  t.equal(written.get('smslinks_clicks_dropped_total'), 0)
})

t.test('clicks lost to a full queue are counted as dropped', async (t) => {
  const app = await startApp(t, { env: { CLICK_QUEUE_MAX: '1' } })
  const { key } = await createTenant(app)
  const message = json(
    await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b', 'c'] }),
  )
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  const figures = await scrape(app)
  t.equal(figures.get('smslinks_redirects_total{outcome="redirected"}'), 3)
  t.equal(figures.get('smslinks_clicks_dropped_total'), 2)
  t.equal(figures.get('smslinks_click_queue_capacity'), 1)
})

t.test('with METRICS_TOKEN set, /metrics needs it as a bearer token', async (t) => {
  const token = 'metrics-token-0123456789'
  const app = await startApp(t, { env: { METRICS_TOKEN: token } })
  const none = await app.inject({ url: '/metrics' })
  t.equal(none.statusCode, 401)
  t.match(json(none), { error: 'unauthorized', message: /METRICS_TOKEN/ })
  const wrong = await app.inject({ url: '/metrics', headers: bearer('metrics-token-wrong-12345') })
  t.equal(wrong.statusCode, 401)
  t.notOk(wrong.body.includes('smslinks_'), 'nothing leaks')
  const right = await app.inject({ url: '/metrics', headers: bearer(token) })
  t.equal(right.statusCode, 200)
  t.ok(right.body.includes('smslinks_redirects_total'))
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'the probes stay open')
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
})

t.test('METRICS_TOKEN must be long enough', async (t) => {
  await t.rejects(startApp(t, { env: { METRICS_TOKEN: 'short' } }), /METRICS_TOKEN must be at least 16 characters/)
})

t.test('the webhook backlog counts events waiting in the outbox', async (t) => {
  // A receiver that never answers 2xx, retried only after an hour: its events stay pending.
  const receiver = await startReceiver(t, () => 503)
  const app = await startApp(t, {
    env: { ...LOCAL_RECEIVERS, WEBHOOK_POLL_INTERVAL_MS: '10', WEBHOOK_RETRY_BASE_MS: '3600000' },
  })
  const { key } = await createTenant(app)
  t.equal((await scrape(app)).get('smslinks_webhook_backlog'), 0)
  await app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: bearer(key),
    payload: { url: receiver.url, events: ['click'] },
  })
  const message = json(await postMessage(app, key, { links: [{ url: 'https://shop.dk' }], recipients: ['a', 'b'] }))
  for (const recipient of message.recipients) await tap(app, recipient.links[0])
  await flushClicks(app)
  t.equal((await scrape(app)).get('smslinks_webhook_backlog'), 2)
})
