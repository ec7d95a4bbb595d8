/**
 * The ceiling: bare Fastify 5 answering GET /:code with reply.redirect(url, 302)
 * from a Map, logger off. Started by bench/run.ts with the same paths the service
 * gets, so both are loaded the same way.
 *
 *   PORT=3902 PATHS_FILE=bench/out/paths.txt node --import tsx bench/bare-fastify.ts
 */
import Fastify from 'fastify'
import { readFileSync } from 'node:fs'

const port = Number(process.env.PORT ?? 3902)
const paths = readFileSync(process.env.PATHS_FILE ?? 'bench/out/paths.txt', 'utf8')
  .split('\n')
  .filter(Boolean)
const targets = new Map<string, string>()
for (const path of paths) targets.set(path.slice(1), `https://shop.example.dk/landing?p=${path.length}`)

const app = Fastify({ logger: false })
app.get<{ Params: { code: string } }>('/:code', (request, reply) => {
  const url = targets.get(request.params.code)
  if (url === undefined) return reply.code(404).send('not found')
  return reply.redirect(url, 302)
})
await app.listen({ port, host: '127.0.0.1' })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
