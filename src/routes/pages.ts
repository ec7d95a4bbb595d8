import type { FastifyReply } from 'fastify'

/** A small page for people who follow a link that does not exist; no scripts, no external assets. */
const NOT_FOUND_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Link not found</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f6f6;color:#222}main{max-width:22rem;padding:2rem;text-align:center}h1{font-size:1.25rem}</style>
</head>
<body><main><h1>This link does not work</h1><p>It may be mistyped or no longer in use. Check the message you received.</p></main></body>
</html>
`

/** For a link whose message has expired and whose domain has no fallback URL; like the 404 page. */
const EXPIRED_PAGE = NOT_FOUND_PAGE.replace('<title>Link not found</title>', '<title>Link expired</title>').replace(
  '<h1>This link does not work</h1><p>It may be mistyped or no longer in use. Check the message you received.</p>',
  '<h1>This link has expired</h1><p>The offer or page it led to is no longer available.</p>',
)

export function sendExpiredPage(reply: FastifyReply): void {
  reply
    .code(410)
    .header('cache-control', 'private, max-age=0')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
    .type('text/html; charset=utf-8')
    .send(EXPIRED_PAGE)
}

export function sendNotFoundPage(reply: FastifyReply): void {
  reply
    .code(404)
    .header('cache-control', 'private, max-age=0')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
    .type('text/html; charset=utf-8')
    .send(NOT_FOUND_PAGE)
}
