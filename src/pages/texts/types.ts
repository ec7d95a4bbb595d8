/** Everything a recipient may read on our pages, in one language. `name` is the sender's (tenant's) name. */
export interface PageTexts {
  notFound: { title: string; heading: string; text: string }
  expired: { title: string; heading: string; text: string }
  /** A link that cannot be looked up right now (the database is away): try again shortly. */
  unavailable: { title: string; heading: string; text: string }
  invalidLink: { title: string; heading: string; text: string }
  confirm: {
    title: (name: string) => string
    heading: (name: string) => string
    text: (name: string) => string
    button: string
  }
  unsubscribed: { title: string; heading: string; text: (name: string) => string }
}
