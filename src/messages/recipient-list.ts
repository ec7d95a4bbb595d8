import type { Domain, Message, RecipientIndex } from '../db/store.js'
import type { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
import { distinctInSlices } from '../slices.js'
import { messageWithRecipientsText, type RecipientsFormat } from './present.js'

/** A message as a create or add-recipients call leaves it: its recipients are in the call's RecipientList. */
export interface MessageResult {
  message: Message
  domain: Domain
  /** Whether this call created the message. */
  created: boolean
}

/** The answer to a call: JSON text whole, or its pieces in order. */
export type AnswerText = string | Buffer | AsyncIterable<string | Buffer>

/**
 * The recipient ids a call names, repeats dropped, first occurrences in order; and
 * what the store made of them, slice by slice. The ids of a small call live on the
 * event loop (LocalRecipients); those of a large one in the recipients thread, which
 * also writes the answer (ThreadRecipients, docs/adr/0087).
 */
export interface RecipientList {
  readonly count: number
  /** The ids [from, to). */
  ids(from: number, to: number): Promise<string[]>
  /** What the store gave ids [from, from + recipients.length): their indexes, and which the tenant has opted out. */
  stored(from: number, recipients: readonly RecipientIndex[], optedOut: ReadonlySet<string>): void
  /** The message with every recipient stored, as JSON or NDJSON text. */
  answer(result: MessageResult, format: RecipientsFormat): Promise<AnswerText>
  /** Lets go of the ids (a call that failed, or whose answer is written). */
  release(): void
}

/** The recipients of a small call, held on the event loop. */
export class LocalRecipients implements RecipientList {
  private readonly recipients: RecipientIndex[] = []
  private readonly optedOut = new Set<string>()

  private constructor(
    private readonly unique: string[],
    private readonly tokens: RecipientTokens,
    private readonly unsubscribeTokens: UnsubscribeTokens,
  ) {}

  static async of(ids: readonly string[], tokens: RecipientTokens, unsubscribeTokens: UnsubscribeTokens) {
    return new LocalRecipients(await distinctInSlices(ids), tokens, unsubscribeTokens)
  }

  get count(): number {
    return this.unique.length
  }

  async ids(from: number, to: number): Promise<string[]> {
    return from === 0 && to >= this.unique.length ? this.unique : this.unique.slice(from, to)
  }

  stored(_from: number, recipients: readonly RecipientIndex[], optedOut: ReadonlySet<string>): void {
    for (const recipient of recipients) this.recipients.push(recipient)
    for (const id of optedOut) this.optedOut.add(id)
  }

  async answer(result: MessageResult, format: RecipientsFormat): Promise<AnswerText> {
    const { recipients, optedOut } = this
    return messageWithRecipientsText({ ...result, recipients, optedOut }, this.tokens, this.unsubscribeTokens, format)
  }

  release(): void {}
}
