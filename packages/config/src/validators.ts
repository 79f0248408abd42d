import { createPublicKey } from 'node:crypto'
import { isIP } from 'node:net'
import { EnvError, makeExactValidator, makeValidator } from 'envalid'

/**
 * A validation failure whose message never contains the value, so it can be printed even
 * when the value is a secret. `fix` tells the operator what to do.
 */
export class InvalidValue extends EnvError {
  readonly fix: string | undefined
  constructor (problem: string, fix?: string) {
    super(problem)
    this.name = 'InvalidValue'
    this.fix = fix
  }
}

export const GENERATE_SECRET_HINT =
  'generate one with: node -e "console.log(require(\'node:crypto\').randomBytes(48).toString(\'base64url\'))"'

const EXAMPLE_MARKERS = ['insecure', 'changethis', 'changeme', 'yoursecret', 'example', 'testkey', 'secretkey', 'password']

/** True for values copied from documentation or templates rather than generated. */
export function isExampleSecret (value: string): boolean {
  const normalised = value.toLowerCase().replace(/[-_\s]/g, '')
  if (EXAMPLE_MARKERS.some((marker) => normalised.includes(marker))) return true
  return value.length > 0 && [...value].every((char) => char === value[0])
}

/** Returns what is wrong with a secret, or undefined when it is acceptable. */
export function checkSecret (value: string, minLength: number): string | undefined {
  if (value.length < minLength) return `is ${value.length} characters long; at least ${minLength} are required`
  if (isExampleSecret(value)) return 'looks like an example or placeholder value'
  return undefined
}

/** envalid validator for secrets: long enough, not a placeholder, never echoed in errors. */
export const secret = ({ minLength = 32 }: { minLength?: number } = {}) => makeExactValidator<string>((input) => {
  const problem = checkSecret(input, minLength)
  if (problem) throw new InvalidValue(problem, GENERATE_SECRET_HINT)
  return input
})

export const text = makeExactValidator<string>((input) => input)

export const integer = ({ min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number, max?: number } = {}) =>
  makeExactValidator<number>((input) => {
    const value = /^\d+$/.test(input.trim()) ? Number(input) : Number.NaN
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidValue(`must be a whole number from ${min} to ${max}`)
    }
    return value
  })

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

export const boolean = makeExactValidator<boolean>((input) => {
  const value = input.trim().toLowerCase()
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  throw new InvalidValue('must be true or false')
})

export const oneOf = <const T extends string>(values: readonly T[]) => makeValidator<T>((input) => {
  const value = input.trim()
  if ((values as readonly string[]).includes(value)) return value as T
  throw new InvalidValue(`must be one of: ${values.join(', ')}`)
})

export function splitList (input: string): string[] {
  return input.split(',').map((item) => item.trim()).filter(Boolean)
}

function checkUrl (input: string, protocols: readonly string[]): URL {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    throw new InvalidValue('is not a valid URL')
  }
  if (!protocols.includes(url.protocol)) {
    throw new InvalidValue(`must start with ${protocols.map((p) => `${p}//`).join(' or ')}`)
  }
  return url
}

export const url = (protocols: readonly string[]) =>
  makeExactValidator<string>((input) => checkUrl(input, protocols).href.replace(/\/$/, ''))

/** A URL kept exactly as given (trimmed): for values compared as strings, such as a token issuer. */
export const exactUrl = (protocols: readonly string[]) =>
  makeExactValidator<string>((input) => {
    checkUrl(input, protocols)
    return input.trim()
  })

/** One origin (`scheme://host[:port]`, a trailing slash tolerated), returned in its canonical form. */
export const origin = (protocols: readonly string[]) =>
  makeExactValidator<string>((input) => {
    const parsed = checkUrl(input, protocols)
    // `?` and `#` are tested on the input: an empty query or fragment parses to ''.
    if (parsed.pathname !== '/' || parsed.username !== '' || parsed.password !== '' || /[?#]/.test(input)) {
      throw new InvalidValue('must be an origin (scheme://host[:port]) without a path, query, fragment or credentials')
    }
    return parsed.origin
  })

export const urlList = (protocols: readonly string[]) =>
  makeExactValidator<string[]>((input) => splitList(input).map((item) => checkUrl(item, protocols).href))

/** Browser origins such as `https://app.example.org`; `*` is kept for the production rule to judge. */
export const originList = makeExactValidator<string[]>((input) => splitList(input).map((item) => {
  if (item === '*') return item
  const parsed = checkUrl(item, ['http:', 'https:'])
  if (parsed.origin !== item.replace(/\/$/, '')) {
    throw new InvalidValue('each entry must be an origin (scheme://host[:port]) without a path')
  }
  return parsed.origin
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

export const proxyList = makeExactValidator<string[]>((input) => splitList(input).map((item) => {
  if (!isAddressOrCidr(item)) {
    throw new InvalidValue(
      'each entry must be an IP address or CIDR range (e.g. 10.0.0.0/8), or loopback/linklocal/uniquelocal',
      'list the addresses of your load balancers; a hop count is not accepted'
    )
  }
  return item
}))

export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'
] as const

export const algorithmList = makeExactValidator<string[]>((input) => {
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
export const publicKeyPem = makeExactValidator<string>((input) => {
  const pem = input.replace(/\\n/g, '\n').trim()
  try {
    if (pem.includes('PRIVATE KEY') || createPublicKey(pem).type !== 'public') throw new Error('not a public key')
  } catch {
    throw new InvalidValue('is not a PEM public key', 'paste the "PEM Public Key" from your issuer (-----BEGIN PUBLIC KEY-----)')
  }
  return pem
})
