import type { PageTexts } from './types.js'

export const sv: PageTexts = {
  notFound: {
    title: 'Länken hittades inte',
    heading: 'Den här länken fungerar inte',
    text: 'Den kan vara felskriven eller inte längre i bruk. Kontrollera meddelandet du fick.',
  },
  expired: {
    title: 'Länken har gått ut',
    heading: 'Den här länken har gått ut',
    text: 'Erbjudandet eller sidan som länken ledde till finns inte längre.',
  },
  unavailable: {
    title: 'Försök igen om en stund',
    heading: 'Länken kan inte öppnas just nu',
    text: 'Försök igen om några sekunder.',
  },
  invalidLink: {
    title: 'Ogiltig länk',
    heading: 'Den här länken är inte giltig',
    text: 'Den kan vara felskriven eller ofullständig. Kontrollera meddelandet du fick.',
  },
  confirm: {
    title: (name) => `Avregistrera dig från sms från ${name}`,
    heading: (name) => `Vill du sluta få sms från ${name}?`,
    text: (name) => `Tryck på knappen så slutar du få reklam-sms från ${name}.`,
    button: 'Avregistrera mig',
  },
  unsubscribed: {
    title: 'Du är avregistrerad',
    heading: 'Du är avregistrerad',
    text: (name) => `${name} skickar inga fler reklam-sms till dig. Du kan stänga den här sidan.`,
  },
}
