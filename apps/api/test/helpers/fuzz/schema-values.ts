import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import fc from 'fast-check'
import type { JsonSchema } from './openapi.js'

/*
 * Values from the OpenAPI document's schemas: valid ones (sizes at the bounds now and then)
 * and invalid ones (wrong types, one past a bound, far past it, NUL characters). Whether a
 * value is valid is decided by Ajv on the schema itself, after trimming as the API documents,
 * so a case is only required to be refused when the document forbids it.
 */

/**
 * Known-good strings for what no generator can make: ids that exist, cursors the API signed.
 * By `<path> <name>` (`/v1/stories cursor`), else by name, else `uuid` for any UUID.
 */
export type KnownValues = Record<string, readonly string[]>

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Code points, as JSON Schema counts string length. */
export const codePoints = (text: string) => [...text].length

const CYCLE = ['a', 'é', '字', '😀', ' ', '"', '\\', '\t', '\u2028', 'b']

/** A string of exactly `length` code points, of every width in UTF-8 and JSON, not blank at its ends. */
export function filler (length: number): string {
  if (length <= 0) return ''
  if (length === 1) return 'a'
  const middle = Array.from({ length: length - 2 }, (_, i) => CYCLE[i % CYCLE.length]).join('')
  return `a${middle}z`
}

const PADS = ['', ' ', '\t\n', '\u00a0', '\u3000', '\ufeff', '\u2028 ']
const PLAIN_TEXT = 'Plain text, é字😀'
const UUID_SAMPLE = '0b7a3f5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'

/** Whether `schema` describes a UUID (a `uuid` format, or a pattern that takes one and little else). */
export function isUuidSchema (schema: JsonSchema): boolean {
  if (schema.format === 'uuid') return true
  if (schema.pattern === undefined) return false
  const pattern = new RegExp(schema.pattern, 'u')
  return pattern.test(UUID_SAMPLE) && !pattern.test('x') && !pattern.test(UUID_SAMPLE.replace(/-/g, ''))
}

export interface ValueOptions {
  known: KnownValues
  /** The route's path template, for known values of its own. */
  path?: string
  /** Strings at their length bounds now and then (else at most 200 characters). */
  bounds?: boolean
  /** A JSON body's string, trimmed by the API before validation: it may come padded with white space. */
  trimmed?: boolean
}

function validString (schema: JsonSchema, name: string, { known, path, bounds = true, trimmed = false }: ValueOptions): fc.Arbitrary<string> {
  const samples = known[`${path} ${name}`] ?? known[name] ?? (isUuidSchema(schema) ? known.uuid : undefined)
  if (samples !== undefined && samples.length > 0) return fc.constantFrom(...samples)
  if (isUuidSchema(schema)) return fc.uuid()
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
  const min = schema.minLength ?? 0
  const max = bounds ? schema.maxLength ?? 1000 : Math.min(schema.maxLength ?? 1000, 200)
  const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern, 'u')
  const fits = (text: string) => {
    const stored = trimmed ? text.trim() : text
    const length = codePoints(stored)
    return length >= min && length <= max && (pattern === undefined || pattern.test(stored))
  }
  const short = pattern === undefined || pattern.test(PLAIN_TEXT)
    ? fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 24) })
    : fc.stringMatching(pattern, { size: 'small' })
  const padded = trimmed ? fc.tuple(fc.constantFrom(...PADS), short, fc.constantFrom(...PADS)).map(([before, text, after]) => `${before}${text}${after}`) : short
  const atBounds = fc.constantFrom(...new Set([Math.max(min, 1), max])).map(filler)
  return fc.oneof({ arbitrary: padded, weight: 6 }, { arbitrary: atBounds, weight: 1 }).filter(fits)
}

/** A value the schema accepts. Arrays stay short, and their items away from the size bounds. */
export function validValue (schema: JsonSchema, name: string, options: ValueOptions): fc.Arbitrary<JsonValue> {
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map((branch) => validValue(branch, name, options)))
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum as JsonValue[])
  switch (schema.type) {
    case 'string':
      return validString(schema, name, options)
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 })
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array': {
      const items = validValue(schema.items ?? {}, name, { ...options, bounds: false })
      const min = schema.minItems ?? 0
      const lengths = [min, Math.min(schema.maxItems ?? 3, 3), ...(schema.maxItems === undefined ? [] : [schema.maxItems])]
      return fc.constantFrom(...new Set(lengths)).chain((length) => fc.array(items, { minLength: length, maxLength: length }))
    }
    case 'object': {
      const properties = schema.properties ?? {}
      const model = Object.fromEntries(Object.entries(properties).map(([key, inner]) => [key, validValue(inner, key, options)]))
      return fc.record(model, { requiredKeys: schema.required ?? [] })
        .filter((value) => Object.keys(value).length >= (schema.minProperties ?? 0)) as fc.Arbitrary<JsonValue>
    }
    default:
      return fc.constant('')
  }
}

export interface Mutation {
  value: JsonValue
  note: string
}

const WRONG_TYPES: Array<[string, JsonValue]> = [
  ['a number', 42], ['zero', 0], ['a negative number', -1], ['a fraction', 1.5], ['a huge number', 1e308],
  ['true', true], ['false', false], ['null', null], ['an empty array', []], ['an array', ['x']],
  ['an empty object', {}], ['an object', { value: 'x' }], ['a string', 'x'], ['an empty string', '']
]

/** Values of the wrong type, or past a bound, for `schema`: some may still be valid, as Ajv decides. */
export function invalidValue (schema: JsonSchema): fc.Arbitrary<Mutation> {
  const candidates: Mutation[] = WRONG_TYPES.map(([note, value]) => ({ note, value }))
  const max = schema.maxLength
  const min = schema.minLength ?? 0
  if (schema.type === 'string' || schema.anyOf?.some((branch) => branch.type === 'string')) {
    if (max !== undefined) {
      candidates.push({ note: `${max + 1} characters`, value: filler(max + 1) }, { note: `${max * 3} characters`, value: filler(Math.min(max * 3, 300_000)) })
    }
    if (min > 0) candidates.push({ note: 'blank once trimmed', value: ' \t\u00a0\u2028\ufeff ' }, { note: `${min - 1} characters`, value: filler(min - 1) })
    candidates.push(
      { note: 'a NUL character', value: 'a\u0000b' },
      { note: 'only a NUL character', value: '\u0000' },
      { note: 'a NUL character at the bound', value: `${filler(Math.max((max ?? 10) - 1, 1))}\u0000` }
    )
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const { minimum = 0, maximum = 100 } = schema
    candidates.push(
      { note: 'below the minimum', value: minimum - 1 }, { note: 'above the maximum', value: maximum + 1 },
      { note: 'a numeric string', value: String(minimum) }, { note: 'a fraction in range', value: minimum + 0.5 },
      { note: 'past 2^53', value: 2 ** 53 + 2 }
    )
  }
  if (schema.type === 'array') {
    const over = (schema.maxItems ?? 100) + 1
    candidates.push({ note: `${over} items`, value: Array.from({ length: over }, () => ({ title: 't', content: 'c' })) })
  }
  if (schema.type === 'object') {
    candidates.push({ note: 'an unknown property', value: { unexpected_field: 'x' } })
  }
  return fc.constantFrom(...candidates)
}

/** A path into a value of `schema`, with the schema found there: properties by name, array items at 0. */
export interface SchemaPath {
  path: Array<string | number>
  schema: JsonSchema
}

export function schemaPaths (schema: JsonSchema, path: Array<string | number> = []): SchemaPath[] {
  const here = path.length === 0 ? [] : [{ path, schema }]
  if (schema.type === 'object') {
    return [...here, ...Object.entries(schema.properties ?? {}).flatMap(([key, inner]) => schemaPaths(inner, [...path, key]))]
  }
  if (schema.type === 'array' && schema.items !== undefined) return [...here, ...schemaPaths(schema.items, [...path, 0])]
  return here
}

/** `value` with `path` set to `replacement`, creating objects and one-item arrays on the way. */
export function setAt (value: JsonValue, path: ReadonlyArray<string | number>, replacement: JsonValue): JsonValue {
  const [head, ...rest] = path
  if (head === undefined) return replacement
  if (typeof head === 'number') {
    const items = Array.isArray(value) && value.length > 0 ? [...value] : [{}]
    items[0] = setAt(items[0] ?? {}, rest, replacement)
    return items
  }
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...value } : {}
  object[head] = setAt(object[head] ?? {}, rest, replacement)
  return object
}

/** A JSON body as the API sees it: every string trimmed (see the README's "Bounds"). */
export function trimmed (value: JsonValue): JsonValue {
  if (typeof value === 'string') return value.trim()
  if (Array.isArray(value)) return value.map(trimmed)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, trimmed(inner)]))
  return value
}

function createAjv (coerceTypes: false | 'array'): Ajv {
  const ajv = new Ajv({ allErrors: false, coerceTypes, strict: false, useDefaults: true })
  addFormats.default(ajv)
  return ajv
}

/** Validity as the document defines it: JSON bodies as they are, query strings coerced from text. */
export class SchemaJudge {
  private readonly bodies = createAjv(false)
  private readonly text = createAjv('array')
  private readonly cache = new Map<Ajv, Map<JsonSchema, ValidateFunction>>()

  bodyIsValid (schema: JsonSchema, body: JsonValue): boolean {
    return this.compiled(this.bodies, schema)(trimmed(body))
  }

  /** `query` as the server parses it: a repeated name gives an array of its values. */
  queryIsValid (schema: JsonSchema, query: Record<string, string | string[]>): boolean {
    return this.compiled(this.text, schema)(structuredClone(query))
  }

  private compiled (ajv: Ajv, schema: JsonSchema): ValidateFunction {
    const compiled = this.cache.get(ajv) ?? new Map<JsonSchema, ValidateFunction>()
    this.cache.set(ajv, compiled)
    const validate = compiled.get(schema) ?? ajv.compile(schema)
    compiled.set(schema, validate)
    return validate
  }
}
