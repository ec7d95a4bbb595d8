import type { PageTexts } from './types.js'

export const de: PageTexts = {
  notFound: {
    title: 'Link nicht gefunden',
    heading: 'Dieser Link funktioniert nicht',
    text: 'Er ist vielleicht falsch geschrieben oder nicht mehr aktiv. Bitte prüfen Sie die Nachricht, die Sie erhalten haben.',
  },
  expired: {
    title: 'Link abgelaufen',
    heading: 'Dieser Link ist abgelaufen',
    text: 'Das Angebot oder die Seite, auf die er führte, ist nicht mehr verfügbar.',
  },
  unavailable: {
    title: 'Gleich noch einmal versuchen',
    heading: 'Dieser Link lässt sich gerade nicht öffnen',
    text: 'Bitte versuchen Sie es in ein paar Sekunden noch einmal.',
  },
  invalidLink: {
    title: 'Ungültiger Link',
    heading: 'Dieser Link ist ungültig',
    text: 'Er ist vielleicht falsch geschrieben oder unvollständig. Bitte prüfen Sie die Nachricht, die Sie erhalten haben.',
  },
  confirm: {
    title: (name) => `SMS von ${name} abbestellen`,
    heading: (name) => `Keine SMS mehr von ${name}?`,
    text: (name) => `Tippen Sie auf die Schaltfläche, und Sie erhalten keine Werbe-SMS mehr von ${name}.`,
    button: 'Abbestellen',
  },
  unsubscribed: {
    title: 'Sie haben sich abgemeldet',
    heading: 'Sie haben sich abgemeldet',
    text: (name) => `${name} schickt Ihnen keine Werbe-SMS mehr. Sie können diese Seite schließen.`,
  },
}
