import t from 'tap'
import { refusal } from '../../src/webhooks/receiver-address.js'

t.test('public unicast addresses may receive webhooks, in IPv4, IPv6 and IPv4 inside IPv6', async (t) => {
  for (const address of ['8.8.8.8', '93.184.215.14', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
    t.equal(refusal(address, false), null, address)
  }
})

t.test('every other range is refused, with its name', async (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'a loopback address'],
    ['::ffff:10.0.0.1', 'a private address'],
    ['64:ff9b::a9fe:a9fe', 'a cloud metadata address'],
    ['100.100.100.200', 'a cloud metadata address'],
    ['198.18.0.1', 'a reserved or documentation address'],
    ['240.0.0.1', 'a reserved or documentation address'],
    ['2001::1', 'a Teredo tunnel address'],
    ['100::1', 'a special-purpose address (discard)'],
    ['not-an-address', 'not an IP address'],
  ]
  for (const [address, why] of cases) t.equal(refusal(address, false), why, address)
})

t.test('allowing private networks lets private ranges through, nothing else', async (t) => {
  for (const address of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', 'fd00::1', 'fe80::1']) {
    t.equal(refusal(address, true), null, address)
  }
  for (const address of ['169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '::', '224.0.0.1', '192.0.2.1']) {
    t.not(refusal(address, true), null, address)
  }
})
