import type { MessageText, TextSpan, UtmParams } from './store.js'

/**
 * How a message's text and utm values are kept in their TEXT columns, the same in
 * every backend: JSON, spans as [start, end, link position] triples.
 */
export function serializeSpans(text: MessageText | null): string | null {
  return text ? JSON.stringify(text.spans.map((span) => [span.start, span.end, span.link])) : null
}

export function parseUtm(json: string | null): UtmParams | null {
  return json === null ? null : (JSON.parse(json) as UtmParams)
}

export function parseText(body: string | null, spans: string | null): MessageText | null {
  if (body === null) return null
  const triples = JSON.parse(spans ?? '[]') as Array<[number, number, number]>
  return { body, spans: triples.map(([start, end, link]): TextSpan => ({ start, end, link })) }
}
