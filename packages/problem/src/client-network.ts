import { isIPv4, isIPv6 } from 'node:net'

function ipv4Groups (dotted: string): number[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number)
  return [(a << 8) | b, (c << 8) | d]
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function groupsOf (address: string): number[] {
  const parse = (part: string) => part === ''
    ? []
    : part.split(':').flatMap((group) => group.includes('.') ? ipv4Groups(group) : [Number.parseInt(group, 16)])
  const [head = '', tail] = address.split('::')
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

/** Keeps the first `bits` bits of the address and zeroes the rest. */
function masked (groups: number[], bits: number): number[] {
  return groups.map((group, index) => {
    const kept = Math.min(16, Math.max(0, bits - index * 16))
    return kept === 0 ? 0 : group & (0xffff << (16 - kept)) & 0xffff
  })
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function format (groups: number[]): string {
  let bestStart = -1
  let bestLength = 1
  for (let start = 0; start < 8; start++) {
    let length = 0
    while (start + length < 8 && groups[start + length] === 0) length++
    if (length > bestLength) {
      bestStart = start
      bestLength = length
    }
  }
  const text = groups.map((group) => group.toString(16))
  if (bestStart === -1) return text.join(':')
  return `${text.slice(0, bestStart).join(':')}::${text.slice(bestStart + bestLength).join(':')}`
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), if it is one. */
function mappedIPv4 (groups: number[]): string | undefined {
  const [, , , , , marker = 0, high = 0, low = 0] = groups
  if (!groups.slice(0, 5).every((group) => group === 0) || marker !== 0xffff) return undefined
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}

/** An IPv6 address reduced to its `/bits` network, or undefined when `ip` is not IPv6. Check `ipv4Of` first. */
function ipv6Network (ip: string, bits: number): string | undefined {
  const address = ip.split('%')[0] as string
  return isIPv6(address) ? format(masked(groupsOf(address), bits)) : undefined
}

/** `ip` itself for IPv4, the IPv4 inside an IPv4-mapped IPv6 address, else undefined. */
function ipv4Of (ip: string): string | undefined {
  if (isIPv4(ip)) return ip
  const address = ip.split('%')[0] as string
  return isIPv6(address) ? mappedIPv4(groupsOf(address)) : undefined
}

/**
 * The address that identifies an anonymous client: IPv4 as is, IPv4-mapped IPv6 as IPv4,
 * other IPv6 reduced to its `/ipv6Subnet` network (an integer from 0 to 128), in RFC 5952
 * text (`2001:db8:1:2::`). A single host usually owns a whole /64, so counting per address
 * would let it rotate through 2^64 keys. Anything that is not an address is kept as it
 * came; no address at all is `unknown`.
 */
export function clientAddress (ip: string | undefined, ipv6Subnet: number): string {
  if (ip === undefined || ip === '') return 'unknown'
  return ipv4Of(ip) ?? ipv6Network(ip, ipv6Subnet) ?? ip
}

/**
 * The network that identifies a client, as `@muejam/rate-limit` counts anonymous clients
 * by default: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 as its /64
 * (`2001:db8:1:2::/64`). Anything else is kept as it came. For keying per-client budgets
 * (rate limits, audit throttles, login attempts) so that every plugin counts a client alike.
 */
export function clientNetwork (ip: string): string {
  const ipv4 = ipv4Of(ip)
  if (ipv4 !== undefined) return ipv4
  const network = ipv6Network(ip, 64)
  return network === undefined ? ip : `${network}/64`
}
