import type {
  ClickCounters,
  OptOutSource,
  UnsubscribeCounts,
  Message,
  MessageKind,
  MessageTotals,
  MessageText,
  TextSpan,
  UtmParams,
  Webhook,
  WebhookEventType,
} from './store.js'

/**
 * The rows both backends read, with the same table and column names, and how they
 * become the store's types. Values are kept the same way in every backend: a message's
 * text spans and utm values as JSON in TEXT columns, a webhook's events comma-separated.
 */

export interface MessageRow {
  id: number
  public_id: string
  tenant_id: number
  domain_id: number
  external_id: string | null
  kind: MessageKind
  campaign: string | null
  variant: string | null
  recipient_count: number
  created_at: number
  unsubscribe_code: string | null
  text: string | null
  text_spans: string | null
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  strip_scheme: number | boolean
  utm: string | null
  click_id_param: string | null
  expires_at: number | null
  language: string | null
}

export interface LinkRow {
  id: number
  public_id: string
  position: number
  code: string
  url: string
}

/** Spans as [start, end, link position] triples. */
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

/** A message row with its links, in position order. */
export function messageFromRow(row: MessageRow, links: LinkRow[]): Message {
  return {
    id: row.id,
    publicId: row.public_id,
    tenantId: row.tenant_id,
    domainId: row.domain_id,
    externalId: row.external_id,
    kind: row.kind,
    campaign: row.campaign,
    variant: row.variant,
    recipientCount: row.recipient_count,
    createdAt: row.created_at,
    unsubscribeCode: row.unsubscribe_code ?? null,
    expiresAt: row.expires_at ?? null,
    language: row.language ?? null,
    text: parseText(row.text, row.text_spans),
    stripScheme: row.strip_scheme === 1 || row.strip_scheme === true,
    utm: parseUtm(row.utm),
    clickIdParam: row.click_id_param,
    links: links.map((link) => ({
      id: link.id,
      publicId: link.public_id,
      position: link.position,
      code: link.code,
      url: link.url,
    })),
  }
}

export interface CounterRow {
  clicks_total: number
  clicks_unique: number
  clicks_bots: number
  clicks_previews: number
}

export interface MessageCounterRow extends CounterRow {
  delivered: number
  failed: number
  unsubscribe_visits: number
  unsubscribes: number
  unsubscribes_reply: number
  unsubscribes_import: number
  unsubscribes_support: number
  conversions: number
  clicks_pending: number
}

/** The message counter each opt-out channel moves (`unsubscribes` counts the page's confirmations). */
export const UNSUBSCRIBE_COLUMNS: Record<OptOutSource, keyof MessageCounterRow> = {
  link: 'unsubscribes',
  reply: 'unsubscribes_reply',
  import: 'unsubscribes_import',
  support: 'unsubscribes_support',
}

/** A message's opt-outs by channel from its counters; zeros where there is no row yet. */
export const unsubscribeCounts = (row: Partial<MessageCounterRow> | undefined): UnsubscribeCounts => ({
  link: Number(row?.unsubscribes ?? 0),
  reply: Number(row?.unsubscribes_reply ?? 0),
  import: Number(row?.unsubscribes_import ?? 0),
  support: Number(row?.unsubscribes_support ?? 0),
})

/** A message's or link's click counters; zeros where there is no row yet. */
export const counters = (row: CounterRow | undefined): ClickCounters => ({
  total: row?.clicks_total ?? 0,
  unique: row?.clicks_unique ?? 0,
  bots: row?.clicks_bots ?? 0,
  previews: row?.clicks_previews ?? 0,
})

export interface WebhookRow {
  id: number
  public_id: string
  tenant_id: number
  url: string
  events: string
  created_at: number
}

export function webhookFromRow(row: WebhookRow): Webhook {
  return {
    id: row.id,
    publicId: row.public_id,
    tenantId: row.tenant_id,
    url: row.url,
    events: row.events.split(',') as WebhookEventType[],
    createdAt: row.created_at,
  }
}

/** The opt-out sums of a roll-up statement's select list (see totalsFromRow). */
export const UNSUBSCRIBE_SUMS = `coalesce(sum(c.unsubscribes), 0) AS unsubscribes,
  coalesce(sum(c.unsubscribes_reply), 0) AS unsubscribes_reply,
  coalesce(sum(c.unsubscribes_import), 0) AS unsubscribes_import,
  coalesce(sum(c.unsubscribes_support), 0) AS unsubscribes_support`

/** A roll-up row: the sums with the opt-outs as separate columns. */
export type TotalsRow = Omit<MessageTotals, 'unsubscribes'> & Pick<MessageCounterRow, UnsubscribeColumn>

type UnsubscribeColumn = 'unsubscribes' | 'unsubscribes_reply' | 'unsubscribes_import' | 'unsubscribes_support'

/** A roll-up row with its opt-out sums gathered by channel. */
export function totalsFromRow<T extends TotalsRow>(row: T): Omit<T, UnsubscribeColumn> & MessageTotals {
  const { unsubscribes, unsubscribes_reply, unsubscribes_import, unsubscribes_support, ...rest } = row
  const bySource = unsubscribeCounts({ unsubscribes, unsubscribes_reply, unsubscribes_import, unsubscribes_support })
  return { ...rest, unsubscribes: bySource } as Omit<T, UnsubscribeColumn> & MessageTotals
}
