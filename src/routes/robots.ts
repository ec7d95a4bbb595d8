import type { FastifyPluginAsync } from 'fastify'

/** Short links are personal (one per recipient): no crawler is to fetch, let alone index, any of them. */
const ROBOTS_TXT = 'User-agent: *\nDisallow: /\n'

/** GET /robots.txt on every host, tenants' domains included: crawling is disallowed everywhere. */
export const robotsRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/robots.txt',
    {
      config: { hosts: 'links' },
      logLevel: 'silent',
      schema: {
        tags: ['operations'],
        operationId: 'getRobotsTxt',
        summary: 'Crawling rules',
        description:
          'On every host, tenants’ short-link domains included: `User-agent: *` / `Disallow: /`. ' +
          'Short links are personal, one per recipient; they must not be crawled or indexed.',
        security: [],
        response: {
          200: {
            description: 'The crawling rules',
            content: { 'text/plain': { schema: { type: 'string', example: ROBOTS_TXT } } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=86400').type('text/plain; charset=utf-8').send(ROBOTS_TXT),
  )
}
