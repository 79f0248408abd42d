import { checkSecret, GENERATE_SECRET_HINT } from './secret-strength.js'
import { createVariable, InvalidValue, type Parser, type ValueOf, type Variable, type VariableOptions } from './variable.js'

/** Any text, kept as given. */
export function string<const O extends VariableOptions<string>> (options?: O): Variable<ValueOf<string, O>> {
  return createVariable((input) => input, options)
}

interface Range {
  /** Smallest accepted value. Default 0. */
  min?: number
  /** Largest accepted value. Default `Number.MAX_SAFE_INTEGER`. */
  max?: number
}

function inRange (value: number, { min = 0, max = Number.MAX_SAFE_INTEGER }: Range, kind: string): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new InvalidValue(`must be a ${kind} from ${min} to ${max}`)
  return value
}

/** A decimal number such as `0.25`, within `min`..`max` (default 0 to `Number.MAX_SAFE_INTEGER`). */
export function number<const O extends VariableOptions<number> & Range> (options?: O): Variable<ValueOf<number, O>> {
  const range = { ...options }
  return createVariable((input) => inRange(/^-?\d+(\.\d+)?$/.test(input.trim()) ? Number(input) : Number.NaN, range, 'number'), options)
}

function parseInteger (input: string, range: Range): number {
  const value = /^-?\d+$/.test(input.trim()) ? Number(input) : Number.NaN
  return inRange(Number.isSafeInteger(value) ? value : Number.NaN, range, 'whole number')
}

/** A whole number within `min`..`max` (default 0 to `Number.MAX_SAFE_INTEGER`). */
export function integer<const O extends VariableOptions<number> & Range> (options?: O): Variable<ValueOf<number, O>> {
  const range = { ...options }
  return createVariable((input) => parseInteger(input, range), options)
}

/** A TCP port: a whole number from 0 to 65535. */
export function port<const O extends VariableOptions<number>> (options?: O): Variable<ValueOf<number, O>> {
  return createVariable((input) => parseInteger(input, { min: 0, max: 65535 }), options)
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

/** `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, in any case. */
export function boolean<const O extends VariableOptions<boolean>> (options?: O): Variable<ValueOf<boolean, O>> {
  return createVariable((input) => {
    const value = input.trim().toLowerCase()
    if (TRUE.has(value)) return true
    if (FALSE.has(value)) return false
    throw new InvalidValue('must be true or false')
  }, options)
}

/** One of the given values. Exported as `enum` too. */
export function oneOf<const V extends string, const O extends VariableOptions<V>> (values: readonly V[], options?: O): Variable<ValueOf<V, O>> {
  return createVariable((input) => {
    const value = input.trim()
    if ((values as readonly string[]).includes(value)) return value as V
    throw new InvalidValue(`must be one of: ${values.join(', ')}`)
  }, options)
}

interface UrlOptions {
  /** Accepted schemes, with their colon. Default `['http:', 'https:']`. */
  protocols?: readonly string[]
}

/**
 * Parses `input` (trimmed) as an absolute URL whose scheme is one of `protocols` (with their
 * colon, e.g. `['https:']`), throwing `InvalidValue` otherwise: the check `url()` makes, for
 * validators of your own.
 */
export function parseUrl (input: string, protocols: readonly string[]): URL {
  let parsed: URL
  try {
    parsed = new URL(input.trim())
  } catch {
    throw new InvalidValue('is not a valid URL')
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new InvalidValue(`must start with ${protocols.map((p) => `${p}//`).join(' or ')}`)
  }
  return parsed
}

/** An absolute URL with one of `protocols`, normalised (no trailing slash). */
export function url<const O extends VariableOptions<string> & UrlOptions> (options?: O): Variable<ValueOf<string, O>> {
  const protocols = options?.protocols ?? ['http:', 'https:']
  return createVariable((input) => parseUrl(input, protocols).href.replace(/\/$/, ''), options)
}

/** Splits a comma list, trimming items and dropping empty ones. */
export function splitList (input: string): string[] {
  return input.split(',').map((item) => item.trim()).filter(Boolean)
}

interface ListOptions<T> {
  /** Parses each item; another validator such as `url()`. Default: items kept as text. */
  of?: Parser<T>
}

/** A comma-separated list; each item parsed by `of`. */
export function list<T = string, const O extends VariableOptions<readonly T[]> = VariableOptions<readonly T[]>> (
  options?: O & ListOptions<T>
): Variable<ValueOf<readonly T[], O>> {
  const item = options?.of ?? { parse: (input: string) => input as T }
  return createVariable<readonly T[], O>((input) => splitList(input).map((entry) => item.parse(entry)), options)
}

interface SecretOptions {
  /** Shortest value production accepts. Default 32. */
  minLength?: number
}

/**
 * A secret string: flagged secret (redacted, never printed), and in production at least
 * `minLength` characters long and not an example value (`changeme`, `your-secret`, …).
 * Development accepts any value.
 */
export function secret<const O extends VariableOptions<string> & SecretOptions> (options?: O): Variable<ValueOf<string, O>> {
  const minLength = options?.minLength ?? 32
  const strong = (value: string) => {
    const problem = checkSecret(value, minLength)
    return problem === undefined ? undefined : { problem, fix: GENERATE_SECRET_HINT }
  }
  return createVariable((input) => input, { fix: GENERATE_SECRET_HINT, ...options, secret: true }, [strong])
}
