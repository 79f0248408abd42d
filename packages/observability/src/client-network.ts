import { isIPv6 } from 'node:net'

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

/**
 * The network that identifies a client, as a rate limiter counts it: IPv4 as is, IPv4-mapped
 * IPv6 as IPv4, other IPv6 as its /64 (one host usually owns a whole /64, so counting per
 * address would let it rotate through 2^64 keys). Anything else is returned unchanged.
 */
export function clientNetwork (ip: string): string {
  const address = ip.split('%')[0] as string
  if (!isIPv6(address)) return ip
  const groups = groupsOf(address)
  const [, , , , , marker = 0, high = 0, low = 0] = groups
  if (groups.slice(0, 5).every((group) => group === 0) && marker === 0xffff) {
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`
}
