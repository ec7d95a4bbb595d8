import Fastify from 'fastify'
import t from 'tap'
import { LoopWatch } from '../../src/loop-watch.js'

/** Holds the event loop for `ms`, as a long synchronous stretch of real work would. */
function block(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

const nextTimers = () => new Promise((resolve) => setTimeout(resolve, 30))

// A busy machine can also delay a timer (the process waits for a core), so the
// assertions look for the stall the test made, not for the absence of any other.
function watched(thresholdMs = 100) {
  const warnings: Array<{ blockedMs: number; during: string[]; message: string }> = []
  const log = {
    warn: (fields: { blockedMs: number; during: string[] }, message: string) => warnings.push({ ...fields, message }),
  }
  const watch = new LoopWatch({ thresholdMs }, log as never)
  return { watch, warnings }
}

t.test('a stalled event loop is logged with the API route that held it, even once it has answered', async (t) => {
  const { watch, warnings } = watched()
  const app = Fastify()
  watch.installRoutes(app)
  app.post('/v1/messages', async () => {
    block(250)
    return { ok: true }
  })
  app.get('/:code', { config: { hosts: 'links' } }, async () => 'redirect')
  await app.ready()
  watch.start()
  t.teardown(() => {
    watch.stop()
    return app.close()
  })
  await nextTimers()
  t.equal((await app.inject({ method: 'POST', url: '/v1/messages' })).statusCode, 200)
  await nextTimers()
  const stall = warnings.find((w) => w.blockedMs >= 200)
  t.ok(stall, 'the stall is logged')
  t.same(stall!.during, ['POST /v1/messages'])
  t.match(stall!.message, /^the event loop was blocked for \d+ ms while running POST \/v1\/messages$/)
  t.ok(watch.stalls.count >= 1, 'counted for /metrics')

  await app.inject({ url: '/abc' })
  block(250)
  await nextTimers()
  t.notOk(
    warnings.some((w) => w.during.some((label) => label.includes('/:code'))),
    'short-link routes are never tracked',
  )
})

t.test('jobs run through track() are named, with a count when several run', async (t) => {
  const { watch, warnings } = watched()
  watch.start()
  t.teardown(() => watch.stop())
  await nextTimers()
  const running = Promise.all([
    watch.track('retention', async () => {
      await nextTimers()
      block(250)
    }),
    watch.track('retention', () => nextTimers()),
  ])
  await running
  await nextTimers()
  t.same(warnings.find((w) => w.blockedMs >= 200)?.during, ['retention (2)'])
  await nextTimers()
  t.same(watch.ranSinceLastTick(), [], 'finished jobs are forgotten once a tick has passed')
})

t.test('a stall with nothing tracked running is still logged, and 0 turns the watch off', async (t) => {
  const on = watched()
  on.watch.start()
  t.teardown(() => on.watch.stop())
  await nextTimers()
  block(250)
  await nextTimers()
  const stall = on.warnings.find((w) => w.blockedMs >= 200)
  t.same(stall?.during, [])
  t.match(stall?.message, /^the event loop was blocked for \d+ ms$/)

  const off = watched(0)
  off.watch.start()
  await off.watch.track('retention', async () => block(250))
  await nextTimers()
  t.same(off.warnings, [])
  t.same(off.watch.ranSinceLastTick(), [], 'nothing is remembered while off')
})
