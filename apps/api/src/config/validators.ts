import { createPublicKey } from 'node:crypto'
import { isIP } from 'node:net'
import { InvalidValue, makeValidator, parseUrl, splitList, type Parser } from '@muejam/config'

/** A URL item of a list, kept in `URL#href` form. */
export const urlItem = (protocols: readonly string[]): Parser<string> => ({ parse: (input) => parseUrl(input, protocols).href })

/** A URL kept exactly as given (trimmed): for values compared as strings, such as a token issuer. */
export const exactUrl = (protocols: readonly string[]) => makeValidator((input) => {
  parseUrl(input, protocols)
  return input.trim()
})

/** One origin (`scheme://host[:port]`, a trailing slash tolerated), returned in its canonical form. */
export const origin = (protocols: readonly string[]) => makeValidator((input) => {
  const parsed = parseUrl(input, protocols)
  // `?` and `#` are tested on the input: an empty query or fragment parses to ''.
  if (parsed.pathname !== '/' || parsed.username !== '' || parsed.password !== '' || /[?#]/.test(input)) {
    throw new InvalidValue('must be an origin (scheme://host[:port]) without a path, query, fragment or credentials')
  }
  return parsed.origin
})

/** Browser origins such as `https://app.example.org`; `*` is kept for the production rule to judge. */
export const originList = makeValidator<readonly string[]>((input) => splitList(input).map((item) => {
  if (item === '*') return item
  const parsed = parseUrl(item, ['http:', 'https:'])
  if (parsed.origin !== item.replace(/\/$/, '')) {
    throw new InvalidValue('each entry must be an origin (scheme://host[:port]) without a path')
  }
  return parsed.origin
}))

/** `scheme://host:*`: any port of that scheme and host, the port-less origin included. */
const ANY_PORT = ':*'

/**
 * Origins a browser may call the API from: exact origins, `*` (for the production rule to
 * judge) and `scheme://host:*` for every port of a host, such as `http://localhost:*`.
 */
export const corsOriginList = makeValidator<readonly string[]>((input) => splitList(input).map((item) => {
  if (item === '*') return item
  const anyPort = item.endsWith(ANY_PORT)
  const base = anyPort ? item.slice(0, -ANY_PORT.length) : item.replace(/\/$/, '')
  const parsed = parseUrl(base, ['http:', 'https:'])
  if (parsed.origin !== base || (anyPort && parsed.port !== '') || base.includes('*')) {
    throw new InvalidValue('each entry must be an origin (scheme://host[:port]) without a path, or scheme://host:* for any port')
  }
  return anyPort ? `${parsed.origin}${ANY_PORT}` : parsed.origin
}))

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isAddressOrCidr (item: string): boolean {
  if (PROXY_NAMES.has(item)) return true
  const [address = '', prefix, ...rest] = item.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const bits = /^\d+$/.test(prefix) ? Number(prefix) : -1
  return bits >= 0 && bits <= (family === 4 ? 32 : 128)
}

export const proxyEntry: Parser<string> = {
  parse (item) {
    if (!isAddressOrCidr(item)) {
      throw new InvalidValue(
        'each entry must be an IP address or CIDR range (e.g. 10.0.0.0/8), or loopback/linklocal/uniquelocal',
        'list the addresses of your load balancers; a hop count is not accepted'
      )
    }
    return item
  }
}

export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'
] as const

export const algorithmList = makeValidator<readonly string[]>((input) => {
  const items = splitList(input)
  if (items.length === 0) throw new InvalidValue('must name at least one algorithm')
  for (const item of items) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(item)) {
      throw new InvalidValue(
        `must list only public-key algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}); HS* and none are refused`,
        'use RS256 for Clerk; shared-secret algorithms let anyone holding the public key forge tokens'
      )
    }
  }
  return items
})

/** A PEM public key; `\n` escapes are accepted because many secret stores flatten newlines. */
export const publicKeyPem = makeValidator((input) => {
  const pem = input.replace(/\\n/g, '\n').trim()
  try {
    if (pem.includes('PRIVATE KEY') || createPublicKey(pem).type !== 'public') throw new Error('not a public key')
  } catch {
    throw new InvalidValue('is not a PEM public key', 'paste the "PEM Public Key" from your issuer (-----BEGIN PUBLIC KEY-----)')
  }
  return pem
})
