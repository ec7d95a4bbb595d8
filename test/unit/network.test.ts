import t from 'tap'
import { truncateAddress } from '../../src/clicks/network.js'

t.test('client addresses are cut to their network before anything is stored', async (t) => {
  const cases: Array<[string | undefined, string | null]> = [
    ['203.0.113.77', '203.0.113.0/24'],
    ['::ffff:198.51.100.9', '198.51.100.0/24'],
    ['2001:db8:abcd:12:1:2:3:4', '2001:db8:abcd::/48'],
    ['2001:0db8:00ab::1', '2001:db8:ab::/48'],
    ['2001:db8::1', '2001:db8:0::/48'],
    ['::1', '0:0:0::/48'],
    ['fe80::1%eth0', 'fe80:0:0::/48'],
    ['not-an-ip', null],
    ['', null],
    [undefined, null],
  ]
  for (const [address, network] of cases) t.equal(truncateAddress(address), network, String(address))
})
