import { escapeHtml } from '../pages/html.js'
import { choosePageLanguage, fromAcceptLanguage, PAGE_LANGUAGES, type PageLanguage } from '../pages/languages.js'
import { PAGE_TEXTS } from '../pages/texts/index.js'
import type { FastifyReply } from 'fastify'

/** A small page for people who follow a link that does not work; no scripts, no external assets. */
function infoPage(language: PageLanguage, texts: { title: string; heading: string; text: string }): string {
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(texts.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f6f6;color:#222}main{max-width:22rem;padding:2rem;text-align:center}h1{font-size:1.25rem}</style>
</head>
<body><main><h1>${escapeHtml(texts.heading)}</h1><p>${escapeHtml(texts.text)}</p></main></body>
</html>
`
}

/** Built once per language. */
const pages = <K extends 'notFound' | 'expired' | 'unavailable'>(kind: K) =>
  Object.fromEntries(
    PAGE_LANGUAGES.map((language) => [language, infoPage(language, PAGE_TEXTS[language][kind])]),
  ) as Record<PageLanguage, string>
const NOT_FOUND_PAGES = pages('notFound')
const EXPIRED_PAGES = pages('expired')
const UNAVAILABLE_PAGES = pages('unavailable')

/** The language a page is shown in when nothing better is known: what the phone asks for, else English. */
export const requestLanguage = (reply: FastifyReply): PageLanguage =>
  fromAcceptLanguage(reply.request.headers['accept-language']) ?? 'en'

/**
 * The language of a recipient's page: the message's, else its tenant's default, else
 * what the phone asks for, else English. Pages of a host without a message (not
 * found, expired) give what they know: the host's tenant's language.
 */
export const pageLanguageFor = (
  reply: FastifyReply,
  known: { message?: string | null; tenant?: string | null },
): PageLanguage => choosePageLanguage(known.message, known.tenant, reply.request.headers['accept-language'])

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

/** The 404 page, in `language` (the tenant's, when the host is known) or the one the phone asks for. */
export function sendNotFoundPage(reply: FastifyReply, language: PageLanguage = requestLanguage(reply)): void {
  reply.code(404).headers(NOT_FOUND_HEADERS).header('content-language', language).send(NOT_FOUND_PAGES[language])
}

/** Seconds a person (or a browser, or a load balancer) is asked to wait before trying an unavailable link again. */
export const RETRY_AFTER_SECONDS = 5

/**
 * For a link that is not in memory while the database cannot be reached: a 503 that
 * asks to try again shortly, never stored by a browser or a proxy. Not a 404: the
 * link may well exist, and the next tap may find the database back.
 */
export function sendUnavailablePage(reply: FastifyReply, language: PageLanguage = requestLanguage(reply)): void {
  reply
    .code(503)
    .headers(NOT_FOUND_HEADERS)
    .header('cache-control', 'no-store')
    .header('retry-after', String(RETRY_AFTER_SECONDS))
    .header('content-language', language)
    .send(UNAVAILABLE_PAGES[language])
}

/** For a link whose message has expired and whose domain has no fallback URL; like the 404 page. */
export function sendExpiredPage(reply: FastifyReply, language: PageLanguage = requestLanguage(reply)): void {
  reply.code(410).headers(NOT_FOUND_HEADERS).header('content-language', language).send(EXPIRED_PAGES[language])
}
