import { createHmac } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

/**
 * The network a client address belongs to: IPv4 cut to /24, IPv6 to /48.
 * The address itself is never stored. Anything unparseable gives null.
 */
export function truncateAddress(address: string | undefined): string | null {
  if (!address) return null
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) address = address.slice(7)
  if (isIPv4(address)) return `${address.slice(0, address.lastIndexOf('.'))}.0/24`
  const zone = address.indexOf('%')
  if (zone !== -1) address = address.slice(0, zone)
  if (!isIPv6(address)) return null
  const [head = '', tail] = address.split('::')
  const groups = head === '' ? [] : head.split(':')
  if (tail !== undefined) while (groups.length < 3) groups.push('0')
  return `${groups
    .slice(0, 3)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/48`
}

const DAY_MS = 86_400_000
/** Hex characters kept of a hashed address: 64 bits, plenty to tell a day's addresses apart. */
const HASH_LENGTH = 16

/** Turns a client address into what a click stores (IP_STORAGE); never the address itself. */
export type AddressToStore = (address: string | undefined, at: number) => string | null

/**
 * IP_STORAGE=hash: `h:` and the first 64 bits of HMAC-SHA256(dayKey, address), where
 * dayKey = HMAC-SHA256(secret, "ip-hash:" + UTC date). The same address gives the same
 * value all day and an unrelated one the next day. The key is worked out once per day,
 * so a click costs one HMAC. IPv4-mapped IPv6 addresses are hashed as IPv4.
 */
export function dailyAddressHasher(secret: string): AddressToStore {
  let day = -1
  let key: Buffer = Buffer.alloc(0)
  return (address, at) => {
    if (!address) return null
    if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) address = address.slice(7)
    const today = Math.floor(at / DAY_MS)
    if (today !== day) {
      day = today
      const date = new Date(today * DAY_MS).toISOString().slice(0, 10)
      key = createHmac('sha256', secret).update(`ip-hash:${date}`).digest()
    }
    return `h:${createHmac('sha256', key).update(address).digest('hex').slice(0, HASH_LENGTH)}`
  }
}

/** The address policy IP_STORAGE names; `secret` is only used by `hash`. */
export function addressPolicy(mode: 'network' | 'hash' | 'none', secret: string): AddressToStore {
  if (mode === 'hash') return dailyAddressHasher(secret)
  if (mode === 'none') return () => null
  return (address) => truncateAddress(address)
}
