/** Everything a recipient may read on our pages, in one language. `name` is the sender's (tenant's) name. */
export interface PageTexts {
  notFound: { title: string; heading: string; text: string }
  expired: { title: string; heading: string; text: string }
  invalidLink: { title: string; heading: string; text: string }
  confirm: {
    title: (name: string) => string
    heading: (name: string) => string
    text: (name: string) => string
    button: string
  }
  unsubscribed: { title: string; heading: string; text: (name: string) => string }
}
