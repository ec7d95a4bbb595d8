import { customAlphabet } from 'nanoid'
import { BASE62 } from './base62.js'

/** The random part of a public id (`msg_…`, `lnk_…`, `ten_…`, `whk_…`): 16 base62 characters, about 95 bits. */
export const newPublicId = customAlphabet(BASE62, 16)
