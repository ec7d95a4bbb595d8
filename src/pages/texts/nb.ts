import type { PageTexts } from './types.js'

/** Norwegian (bokmål). */
export const nb: PageTexts = {
  notFound: {
    title: 'Fant ikke lenken',
    heading: 'Denne lenken virker ikke',
    text: 'Den kan være feilskrevet eller ikke lenger i bruk. Sjekk meldingen du fikk.',
  },
  expired: {
    title: 'Lenken er utløpt',
    heading: 'Denne lenken er utløpt',
    text: 'Tilbudet eller siden lenken viste til, finnes ikke lenger.',
  },
  unavailable: {
    title: 'Prøv igjen om litt',
    heading: 'Lenken kan ikke åpnes akkurat nå',
    text: 'Prøv igjen om noen sekunder.',
  },
  invalidLink: {
    title: 'Ugyldig lenke',
    heading: 'Denne lenken er ikke gyldig',
    text: 'Den kan være feilskrevet eller ufullstendig. Sjekk meldingen du fikk.',
  },
  confirm: {
    title: (name) => `Meld deg av SMS fra ${name}`,
    heading: (name) => `Vil du slutte å få SMS fra ${name}?`,
    text: (name) => `Trykk på knappen, så slutter du å få reklame på SMS fra ${name}.`,
    button: 'Meld meg av',
  },
  unsubscribed: {
    title: 'Du er meldt av',
    heading: 'Du er meldt av',
    text: (name) => `${name} sender deg ikke flere SMS-er med reklame. Du kan lukke denne siden.`,
  },
}
