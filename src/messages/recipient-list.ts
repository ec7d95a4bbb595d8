import type { Domain, Message, RecipientIndex, Store } from '../db/store.js'
import type { RecipientTokens, UnsubscribeTokens } from '../links/tokens.js'
import type { SuppressionKeys } from '../recipients/suppression.js'
import { distinctInSlices } from '../slices.js'
import { messageWithRecipientsText, type RecipientsFormat } from './present.js'
import { RECIPIENTS_PER_SLICE, storeRecipients } from './store-recipients.js'

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
 * The recipient ids a call names, repeats dropped, first occurrences in order, and
 * what the store makes of them. The ids of a small call live on the event loop, which
 * stores them (LocalRecipients); those of a large one in the recipients thread, which
 * stores them on its own connection and also writes the answer (ThreadRecipients,
 * docs/adr/0087).
 */
export interface RecipientList {
  readonly count: number
  /** The ids to store with a new message, in its transaction: the first slice of a small call, none of a large one. */
  first(): Promise<string[]>
  /** Stores the ids after the `stored` ones (see first) as recipients of `message`; answers its recipient count. */
  store(message: Message, stored: RecipientIndex[]): Promise<number>
  /** The message with every recipient stored, as JSON or NDJSON text. */
  answer(result: MessageResult, format: RecipientsFormat): Promise<AnswerText>
  /** Lets go of the ids (a call that failed, or whose answer is written). */
  release(): void
}

/** What a call's recipients are stored and answered with. */
export interface RecipientListServices {
  store: Store
  suppressionKeys: SuppressionKeys
  tokens: RecipientTokens
  unsubscribeTokens: UnsubscribeTokens
}

/** The recipients of a small call, held on the event loop. */
export class LocalRecipients implements RecipientList {
  private readonly recipients: RecipientIndex[] = []
  private readonly optedOut = new Set<string>()

  private constructor(
    private readonly unique: string[],
    private readonly services: RecipientListServices,
  ) {}

  static async of(ids: readonly string[], services: RecipientListServices): Promise<LocalRecipients> {
    return new LocalRecipients(await distinctInSlices(ids), services)
  }

  get count(): number {
    return this.unique.length
  }

  async first(): Promise<string[]> {
    return this.unique.length <= RECIPIENTS_PER_SLICE ? this.unique : this.unique.slice(0, RECIPIENTS_PER_SLICE)
  }

  store(message: Message, stored: RecipientIndex[]): Promise<number> {
    return storeRecipients(this.services, message, this.unique, stored, (_from, recipients, optedOut) => {
      for (const recipient of recipients) this.recipients.push(recipient)
      for (const id of optedOut) this.optedOut.add(id)
    })
  }

  async answer(result: MessageResult, format: RecipientsFormat): Promise<AnswerText> {
    const { recipients, optedOut } = this
    const { tokens, unsubscribeTokens } = this.services
    return messageWithRecipientsText({ ...result, recipients, optedOut }, tokens, unsubscribeTokens, format)
  }

  release(): void {}
}
