import Negotiator from 'negotiator'
import { ApiError } from '../errors.js'

/** The languages recipients' pages come in, as BCP 47 tags (what `<html lang>` says). */
export const PAGE_LANGUAGES = ['da', 'de', 'en', 'nb', 'sv', 'zh-Hans'] as const
export type PageLanguage = (typeof PAGE_LANGUAGES)[number]

/** Tags people and phones also use for these languages. */
const ALIASES: Record<string, PageLanguage> = {
  no: 'nb',
  nn: 'nb',
  zh: 'zh-Hans',
  'zh-cn': 'zh-Hans',
  'zh-sg': 'zh-Hans',
  'zh-hans': 'zh-Hans',
}

/**
 * A language tag as the API takes it (`da`, `zh-Hans`, or an alias such as `no` or
 * `zh-CN`), in its canonical form; null for a language the pages do not come in.
 */
export function pageLanguage(tag: string): PageLanguage | null {
  const lower = tag.toLowerCase()
  return ALIASES[lower] ?? PAGE_LANGUAGES.find((language) => language.toLowerCase() === lower) ?? null
}

/** Every tag the API takes for a language, for error messages and the API document. */
export const ACCEPTED_LANGUAGE_TAGS = `${PAGE_LANGUAGES.join(', ')} (or ${Object.keys(ALIASES)
  .map((alias) => (alias.startsWith('zh-') ? `zh-${alias.slice(3).toUpperCase()}` : alias))
  .filter((alias) => alias !== 'zh-HANS')
  .join(', ')})`

/** `pageLanguage`, or a 400 naming the field and the languages there are. */
export function requirePageLanguage(tag: string, field: string): PageLanguage {
  const language = pageLanguage(tag)
  if (language === null) {
    throw new ApiError(
      400,
      'unsupported_language',
      `${field} ${JSON.stringify(tag)} is not a language the pages come in: use one of ${ACCEPTED_LANGUAGE_TAGS}`,
    )
  }
  return language
}

// English first: a wildcard (`*`, what fetch() sends) takes the first one offered.
const OFFERED = ['en', ...PAGE_LANGUAGES.filter((language) => language !== 'en'), ...Object.keys(ALIASES)]

/** The best of the pages' languages for an Accept-Language header (`da-DK,da;q=0.9,en;q=0.8`), or null. */
export function fromAcceptLanguage(header: string | undefined): PageLanguage | null {
  if (!header) return null
  const best = new Negotiator({ headers: { 'accept-language': header } }).language(OFFERED)
  return best === undefined ? null : pageLanguage(best)
}

/**
 * The language of a recipient's page: the message's, else the tenant's default, else
 * what the phone asks for, else English.
 */
export function choosePageLanguage(
  messageLanguage: string | null | undefined,
  tenantLanguage: string | null | undefined,
  acceptLanguage: string | undefined,
): PageLanguage {
  return (
    (messageLanguage ? pageLanguage(messageLanguage) : null) ??
    (tenantLanguage ? pageLanguage(tenantLanguage) : null) ??
    fromAcceptLanguage(acceptLanguage) ??
    'en'
  )
}
