import type { PageLanguage } from '../languages.js'
import { da } from './da.js'
import { de } from './de.js'
import { en } from './en.js'
import { nb } from './nb.js'
import { sv } from './sv.js'
import type { PageTexts } from './types.js'
import { zhHans } from './zh-hans.js'

export type { PageTexts } from './types.js'

/** One catalogue per language. */
export const PAGE_TEXTS: Record<PageLanguage, PageTexts> = { da, de, en, nb, sv, 'zh-Hans': zhHans }
