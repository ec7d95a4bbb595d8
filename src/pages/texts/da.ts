import type { PageTexts } from './types.js'

export const da: PageTexts = {
  notFound: {
    title: 'Linket findes ikke',
    heading: 'Dette link virker ikke',
    text: 'Det er måske skrevet forkert eller ikke længere i brug. Tjek den besked, du har modtaget.',
  },
  expired: {
    title: 'Linket er udløbet',
    heading: 'Dette link er udløbet',
    text: 'Tilbuddet eller siden, som linket førte til, findes ikke længere.',
  },
  unavailable: {
    title: 'Prøv igen om lidt',
    heading: 'Linket kan ikke åbnes lige nu',
    text: 'Prøv igen om et par sekunder.',
  },
  invalidLink: {
    title: 'Ugyldigt link',
    heading: 'Dette link er ikke gyldigt',
    text: 'Det er måske skrevet forkert eller ufuldstændigt. Tjek den besked, du har modtaget.',
  },
  confirm: {
    title: (name) => `Afmeld SMS fra ${name}`,
    heading: (name) => `Vil du afmelde SMS'er fra ${name}?`,
    text: (name) => `Tryk på knappen, så modtager du ikke længere markedsføring på SMS fra ${name}.`,
    button: 'Afmeld',
  },
  unsubscribed: {
    title: 'Du er afmeldt',
    heading: 'Du er afmeldt',
    text: (name) => `${name} sender dig ikke flere SMS'er med markedsføring. Du kan lukke denne side.`,
  },
}
