import { existsSync } from 'node:fs'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

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

const app = await buildApp(config).catch((err: Error) => {
  console.error(`smslinks: cannot start: ${err.message}`)
  process.exit(1)
})

let closing = false
async function shutdown(signal: string): Promise<void> {
  if (closing) return
  closing = true
  app.log.info({ signal }, 'shutting down: draining requests and flushing clicks')
  try {
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
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  app.log.fatal({ err }, 'could not start')
  await app.close()
  process.exit(1)
}
