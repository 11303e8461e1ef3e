import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

/**
 * Which URLs the gateway may call on a client's behalf (job webhooks), against server-side request
 * forgery: a host must be listed (exactly, or under a `*.domain` wildcard), and an address that is
 * not on the public internet (loopback, private, link-local, unique-local, CGNAT, the cloud metadata
 * service, multicast, reserved) is reached only when that exact hostname or IP is listed. The URL is
 * checked when a job names it and again before each delivery, and the hostname's addresses are
 * checked at connection time by `lookup`, so a DNS answer that changes after the check (DNS
 * rebinding) cannot reach an internal host.
 */

/** Address ranges that are not the public internet (RFC 6890 special-purpose registries). */
const INTERNAL = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, including the metadata service 169.254.169.254
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) INTERNAL.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: embeds an IPv4 address that may be internal
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo (embeds an IPv4 address)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds an IPv4 address)
  ['fc00::', 7], // unique-local, including AWS's IPv6 metadata fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
] as const) INTERNAL.addSubnet(net, bits, 'ipv6')

/** True for an address that is not on the public internet. IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as IPv4 by BlockList. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** A host as the URL parser gives it, for comparing: brackets of an IPv6 literal and one trailing dot removed. */
function bareHost(hostname: string): string {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  return h.endsWith('.') ? h.slice(0, -1) : h
}

/** An IP in its canonical text (the URL parser's), so that `::0001` and `::1` compare equal. */
function canonicalIp(ip: string): string {
  try {
    return bareHost(new URL(`http://${isIP(ip) === 6 ? `[${ip}]` : ip}/`).hostname)
  } catch {
    return ip
  }
}

export interface HostPolicy {
  /** Why `raw` may not be called, or undefined when it may; `url` is the parsed URL when it may. */
  check(raw: string): { url: URL; reason?: undefined } | { url?: undefined; reason: string }
  /** Whether connecting to `address` for `hostname` is allowed (an internal address needs the exact name or IP listed). */
  addressAllowed(hostname: string, address: string): boolean
  /** For http.request's `lookup`: resolves, then refuses the connection if any address is not allowed. */
  lookup: LookupFunction
}

type Resolve = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

export class AddressNotAllowedError extends Error {
  readonly code = 'EADDRNOTALLOWED'
  constructor(hostname: string) {
    super(`${hostname} resolves to an address that is not on the public internet`)
    this.name = 'AddressNotAllowedError'
  }
}

/**
 * `allowedHosts`: lowercased hostnames, `*.domain` (any subdomain, not the domain itself) or IPs.
 * `resolve` is DNS by default (tests hand in answers).
 */
export function createHostPolicy(allowedHosts: readonly string[], resolve: Resolve = dnsLookup as Resolve): HostPolicy {
  const exact = new Set<string>()
  const ips = new Set<string>()
  const suffixes: string[] = []
  for (const rule of allowedHosts) {
    const r = bareHost(rule.trim())
    if (r.startsWith('*.')) suffixes.push(r.slice(1))
    else if (isIP(r) !== 0) ips.add(canonicalIp(r))
    else exact.add(r)
  }

  function hostAllowed(host: string): boolean {
    if (isIP(host) !== 0) return ips.has(canonicalIp(host))
    return exact.has(host) || suffixes.some((s) => host.endsWith(s) && host.length > s.length)
  }

  function check(raw: string): { url: URL } | { reason: string } {
    if (allowedHosts.length === 0) return { reason: 'this gateway has no allowed webhook hosts' }
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return { reason: 'not an absolute URL' }
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { reason: 'only http and https URLs are allowed' }
    if (url.username !== '' || url.password !== '') return { reason: 'credentials in the URL are not allowed' }
    const host = bareHost(url.hostname)
    if (host === '') return { reason: 'the URL has no host' }
    // An IP literal is allowed only when listed, so an internal one needs its exact IP listed.
    if (!hostAllowed(host)) return { reason: 'the host is not in the allowed list' }
    return { url }
  }

  function addressAllowed(hostname: string, address: string): boolean {
    if (!isInternalAddress(address)) return true
    return exact.has(bareHost(hostname)) || ips.has(canonicalIp(address))
  }

  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0)
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0)
      // A name with any internal answer is refused outright rather than filtered: it cannot be
      // trusted to point only outside.
      if (addresses.some((a) => !addressAllowed(hostname, a.address))) return callback(new AddressNotAllowedError(hostname), '', 0)
      if (options.all === true) return callback(null, addresses)
      const first = addresses[0]!
      callback(null, first.address, first.family)
    })
  }

  return { check: check as HostPolicy['check'], addressAllowed, lookup }
}
