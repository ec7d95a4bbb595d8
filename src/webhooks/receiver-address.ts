import { lookup } from 'node:dns/promises'
import ipaddr from 'ipaddr.js'

/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Every address of a host name; the system resolver unless a test injects another. */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>

export const systemResolver: ResolveHost = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }))

/**
 * Addresses of cloud instance metadata services: refused even where private networks
 * are allowed, since they hand out the host's credentials.
 */
const METADATA = new Set(['169.254.169.254', '169.254.170.2', '169.254.169.253', '100.100.100.200', 'fd00:ec2::254'])

/** What ipaddr.js calls a range, as a person reads it. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  uniqueLocal: 'a private (unique local) address',
  reserved: 'a reserved or documentation address',
  '6to4': 'a 6to4 tunnel address',
  teredo: 'a Teredo tunnel address',
}

/** Ranges WEBHOOK_ALLOW_PRIVATE_NETWORKS lets through. */
const PRIVATE = new Set(['loopback', 'private', 'uniqueLocal', 'linkLocal', 'carrierGradeNat'])

/**
 * Why an address may not receive webhooks, as a phrase ("a loopback address"), or null
 * when it may. Public unicast only; an IPv4 address inside IPv6 (`::ffff:127.0.0.1`,
 * NAT64 `64:ff9b::7f00:1`) is judged as the IPv4 address it reaches. 6to4 and Teredo
 * are refused: they tunnel to an IPv4 address that cannot be checked here.
 */
export function refusal(address: string, allowPrivateNetworks: boolean): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6
  try {
    ip = ipaddr.parse(address)
  } catch {
    return 'not an IP address'
  }
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6
    const range = v6.range()
    if (range === 'ipv4Mapped') ip = v6.toIPv4Address()
    else if (range === 'rfc6052') ip = ipaddr.fromByteArray(v6.toByteArray().slice(12))
  }
  if (METADATA.has(ip.toNormalizedString()) || METADATA.has(ip.toString())) return 'a cloud metadata address'
  const range = ip.range()
  if (range === 'unicast') return null
  if (allowPrivateNetworks && PRIVATE.has(range)) return null
  return RANGE_NAMES[range] ?? `a special-purpose address (${range})`
}

/** `[::1]` → `::1`: URL keeps IPv6 literals in brackets. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
}

/** A webhook destination that may not be used, with why in words. */
export class RefusedReceiver extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RefusedReceiver'
  }
}

export interface ReceiverPolicy {
  allowHttp: boolean
  allowPrivateNetworks: boolean
  resolve: ResolveHost
}

/**
 * The address to connect to for a webhook URL, checked: the URL's IP literal, or the
 * first address its host resolves to when every one of them is allowed (a name with
 * one private address among public ones is refused whole). Throws RefusedReceiver for
 * a plain http URL without allowHttp or a refused address; the resolver's own error
 * (ENOTFOUND …) when the name does not resolve.
 */
export async function receiverAddress(url: URL, policy: ReceiverPolicy): Promise<ResolvedAddress> {
  if (url.protocol === 'http:' && !policy.allowHttp) {
    throw new RefusedReceiver('url must start with https:// (plain http:// only with WEBHOOK_ALLOW_HTTP=true)')
  }
  const host = bareHost(url.hostname)
  const addresses: ResolvedAddress[] = ipaddr.isValid(host)
    ? [{ address: host, family: host.includes(':') ? 6 : 4 }]
    : await policy.resolve(host)
  if (addresses.length === 0) throw new RefusedReceiver(`${host} resolves to no address`)
  for (const { address } of addresses) {
    const why = refusal(address, policy.allowPrivateNetworks)
    if (why !== null) {
      const target = address === host ? address : `${host} resolves to ${address}`
      throw new RefusedReceiver(
        `${target}, ${why}: webhooks are sent to public addresses only` +
          (PRIVATE_PHRASES.has(why) ? ' (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows private networks)' : ''),
      )
    }
  }
  return addresses[0]!
}

const PRIVATE_PHRASES = new Set([...PRIVATE].map((range) => RANGE_NAMES[range]!))
