import type { PageTexts } from './types.js'

export const en: PageTexts = {
  notFound: {
    title: 'Link not found',
    heading: 'This link does not work',
    text: 'It may be mistyped or no longer in use. Check the message you received.',
  },
  expired: {
    title: 'Link expired',
    heading: 'This link has expired',
    text: 'The offer or page it led to is no longer available.',
  },
  unavailable: {
    title: 'Try again in a moment',
    heading: 'This link cannot open right now',
    text: 'Please try again in a few seconds.',
  },
  invalidLink: {
    title: 'Link not valid',
    heading: 'This link is not valid',
    text: 'It may be mistyped or incomplete. Check the message you received.',
  },
  confirm: {
    title: (name) => `Unsubscribe from ${name}`,
    heading: (name) => `Stop texts from ${name}?`,
    text: (name) => `Press the button to stop receiving marketing texts from ${name}.`,
    button: 'Unsubscribe',
  },
  unsubscribed: {
    title: 'You are unsubscribed',
    heading: 'You are unsubscribed',
    text: (name) => `${name} will not send you marketing texts any more. You can close this page.`,
  },
}
