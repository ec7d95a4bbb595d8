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

/**
 * The headers @fastify/helmet sets by default, with this page's own policy, written
 * out here rather than by helmet's hooks: the 404 page is sent from the redirect
 * route, whose only hook per tap is the host check (host-kinds.ts).
 * test/api/security-headers.test.ts keeps them in step with what helmet sends on the
 * unsubscribe pages.
 */
const NOT_FOUND_HEADERS = {
  'cache-control': 'private, max-age=0',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'content-type': 'text/html; charset=utf-8',
  'x-robots-tag': 'noindex, nofollow',
}

export function sendNotFoundPage(reply: FastifyReply): void {
  reply.code(404).headers(NOT_FOUND_HEADERS).send(NOT_FOUND_PAGE)
}

/** For a link whose message has expired and whose domain has no fallback URL; like the 404 page. */
const EXPIRED_PAGE = NOT_FOUND_PAGE.replace('<title>Link not found</title>', '<title>Link expired</title>').replace(
  '<h1>This link does not work</h1><p>It may be mistyped or no longer in use. Check the message you received.</p>',
  '<h1>This link has expired</h1><p>The offer or page it led to is no longer available.</p>',
)

export function sendExpiredPage(reply: FastifyReply): void {
  reply.code(410).headers(NOT_FOUND_HEADERS).send(EXPIRED_PAGE)
}
