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
