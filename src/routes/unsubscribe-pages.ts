import { escapeHtml } from '../pages/html.js'
import { PAGE_LANGUAGES, type PageLanguage } from '../pages/languages.js'
import { PAGE_TEXTS } from '../pages/texts/index.js'
import { requestLanguage } from './pages.js'
import type { FastifyReply } from 'fastify'

/** The form field the confirmation page posts; a POST without it unsubscribes nobody. */
export const CONFIRM_FIELD = 'confirm'
export const CONFIRM_VALUE = 'unsubscribe'

const STYLE =
  'body{font:17px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f6f6;color:#222}' +
  'main{max-width:22rem;padding:2rem;text-align:center;overflow-wrap:anywhere}h1{font-size:1.3rem}' +
  'button{font:inherit;font-weight:600;width:100%;padding:.9rem 1rem;border:0;border-radius:.5rem;background:#222;color:#fff;cursor:pointer}'

function page(language: PageLanguage, title: string, body: string): string {
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>${body}</main></body>
</html>
`
}

/**
 * The page a GET shows: one button, a plain form, no script. Only its POST unsubscribes.
 * A tenant's own wording, when it has one for the language, replaces the heading (and
 * the window title) and the text; like every text here it is escaped, never markup.
 */
export function confirmationPage(
  tenantName: string,
  language: PageLanguage,
  own: { title: string; text: string } | null = null,
): string {
  const texts = PAGE_TEXTS[language].confirm
  const heading = own?.title ?? texts.heading(tenantName)
  return page(
    language,
    own?.title ?? texts.title(tenantName),
    `<h1>${escapeHtml(heading)}</h1><p>${escapeHtml(own?.text ?? texts.text(tenantName))}</p>` +
      `<form method="post"><input type="hidden" name="${CONFIRM_FIELD}" value="${CONFIRM_VALUE}">` +
      `<button type="submit">${escapeHtml(texts.button)}</button></form>`,
  )
}

export function unsubscribedPage(tenantName: string, language: PageLanguage): string {
  const texts = PAGE_TEXTS[language].unsubscribed
  return page(
    language,
    texts.title,
    `<h1>${escapeHtml(texts.heading)}</h1><p>${escapeHtml(texts.text(tenantName))}</p>`,
  )
}

const invalidPage = (language: PageLanguage) => {
  const texts = PAGE_TEXTS[language].invalidLink
  return page(language, texts.title, `<h1>${escapeHtml(texts.heading)}</h1><p>${escapeHtml(texts.text)}</p>`)
}
const INVALID_PAGES = Object.fromEntries(PAGE_LANGUAGES.map((language) => [language, invalidPage(language)])) as Record<
  PageLanguage,
  string
>

/**
 * What @fastify/helmet sets on the unsubscribe pages (see src/routes/unsubscribe.ts):
 * never framed (the button must not be clickjacked), no Referer (the URL is personal),
 * nothing loaded but the inline style, and the form posts only back to us.
 */
export const UNSUBSCRIBE_PAGE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
}

/** Sends an unsubscribe page: never cached (each one is for one person), never indexed. */
export function sendUnsubscribePage(
  reply: FastifyReply,
  status: number,
  html: string,
  language: PageLanguage,
): FastifyReply {
  return reply
    .code(status)
    .header('content-language', language)
    .header('cache-control', 'private, max-age=0')
    .header('x-robots-tag', 'noindex, nofollow')
    .type('text/html; charset=utf-8')
    .send(html)
}

export function sendInvalidLinkPage(
  reply: FastifyReply,
  language: PageLanguage = requestLanguage(reply),
): FastifyReply {
  return sendUnsubscribePage(reply, 404, INVALID_PAGES[language], language)
}
