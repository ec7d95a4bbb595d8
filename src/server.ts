import { existsSync } from 'node:fs'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { buildMetricsListener } from './routes/metrics-listener.js'
import { lowerStartupThreadsPriority } from './threads.js'

if (existsSync('.env')) process.loadEnvFile('.env')

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`smslinks: ${err.message}`)
    process.exit(1)
  }
  throw err
}
lowerStartupThreadsPriority(config.v8ThreadsNice)

const app = await buildApp(config).catch((err: Error) => {
  console.error(`smslinks: cannot start: ${err.message}`)
  process.exit(1)
})

// Prometheus's own port, loopback unless METRICS_HOST opens it (docs/adr/0013).
const metrics = config.metricsPort === null ? null : await buildMetricsListener(app.services, app.log)

let closing = false
async function shutdown(signal: string): Promise<void> {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down: draining requests and flushing clicks')
  try {
    await metrics?.close()
    await app.close()
    process.exit(0)
  } catch (err) {
    app.log.error({ err }, 'shutdown failed')
    process.exit(1)
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))

try {
  // The metrics listener first: once the main port logs "Server listening", both are up.
  if (metrics !== null && config.metricsPort !== null) {
    await metrics.listen({
      port: config.metricsPort,
      host: config.metricsHost,
      listenTextResolver: (address) => `metrics listening at ${address}/metrics`,
    })
  }
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  app.log.fatal({ err }, 'could not start')
  await metrics?.close()
  await app.close()
  process.exit(1)
}
