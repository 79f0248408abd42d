import fc from 'fast-check'
import {
  CANONICAL_ID, CONTENT_TYPES, decodedSegment, deepJson, DEPTHS, type DeepShape, nearMissIds, ODD_METHODS, ODD_STRINGS,
  oddHeaders, oddParameterValues, oddPaths, oddQueries, percentEncode, RAW_BYTES
} from './hostile-values.js'
import { fillPath, type JsonSchema, type Operation, routeName } from './openapi.js'
import type { RawRequest } from './raw-http.js'
import {
  invalidValue, isUuidSchema, type JsonValue, type KnownValues, type SchemaJudge, schemaPaths, setAt, validValue
} from './schema-values.js'
import type { TokenChoice } from './tokens.js'

/*
 * Fuzz cases: a valid request for one route, built from its schemas, with one kind of
 * damage done to it. A case is one request, or a few reads sent at once (story reads are
 * batched, so one bad id must not fail the others).
 */

export const KINDS = [
  'valid', 'near_miss_id', 'wrong_type', 'size_limits', 'unknown_fields', 'odd_unicode', 'raw_bytes', 'deep_json',
  'duplicate_keys', 'content_type', 'query', 'token', 'method', 'path', 'header', 'body_limit'
] as const

export type Kind = typeof KINDS[number] | 'concurrent_reads'

export interface FuzzRequest {
  /** `GET /v1/stories/{id}`. */
  route: string
  kind: Kind
  /** What was done to the valid request, in words. */
  note: string
  request: RawRequest
  /** The document forbids this input (or it carries a token that must be refused): a 2xx is a defect. */
  mustRefuse: boolean
}

export interface FuzzCase {
  kind: Kind
  /** One request, or reads sent at the same time. */
  requests: FuzzRequest[]
}

export interface FuzzStory {
  id: string
  /** Index of its author among the fuzz users. */
  author: number
}

export interface FuzzTarget {
  operation: Operation
  /** In the OpenAPI document (false for health, metrics and the document itself). */
  documented: boolean
}

export interface FuzzContext {
  targets: FuzzTarget[]
  tokens: TokenChoice[]
  stories: FuzzStory[]
  known: KnownValues
  judge: SchemaJudge
  bodyLimit: number
}

interface Parts {
  target: FuzzTarget
  path: Record<string, string>
  query: Array<[string, string]>
  parsedQuery: Record<string, string>
  token: TokenChoice
  body?: JsonValue
}

interface Change {
  method?: string
  path?: Record<string, string>
  /** The raw request-target, replacing path and query. */
  target?: string
  query?: Array<[string, string]>
  queryText?: string
  token?: TokenChoice
  body?: Buffer | null
  contentTypes?: string[]
  headers?: Array<[string, string[]]>
}

const pathParameters = (operation: Operation) => operation.parameters.filter((parameter) => parameter.in === 'path')
const queryParameters = (operation: Operation) => operation.parameters.filter((parameter) => parameter.in === 'query')
const JSON_TYPE = ['application/json']

function querySchema (operation: Operation): JsonSchema {
  const parameters = queryParameters(operation)
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter.schema])),
    required: parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name)
  }
}

function text (value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function assemble (parts: Parts, change: Change = {}): RawRequest {
  const { operation } = parts.target
  const query = change.queryText ?? (change.query ?? parts.query).map(([name, value]) => `${name}=${value}`).join('&')
  const target = change.target ?? `${fillPath(operation.path, change.path ?? parts.path)}${query === '' ? '' : `?${query}`}`
  const body = change.body === null ? undefined : change.body ?? (parts.body === undefined ? undefined : Buffer.from(JSON.stringify(parts.body)))
  const contentTypes = change.contentTypes ?? (body === undefined ? [] : JSON_TYPE)
  const authorization = (change.token ?? parts.token).authorization
  let headers: Array<[string, string]> = [
    ['host', '127.0.0.1'],
    ...(authorization === undefined ? [] : [['authorization', authorization] as [string, string]]),
    ...contentTypes.map((value) => ['content-type', value] as [string, string])
  ]
  for (const [name, values] of change.headers ?? []) {
    headers = [...headers.filter(([existing]) => existing !== name), ...values.map((value) => [name, value] as [string, string])]
  }
  return { method: change.method ?? operation.method, target, headers, ...(body === undefined ? {} : { body }) }
}

function request (parts: Parts, kind: Kind, note: string, mustRefuse: boolean, change?: Change): FuzzRequest {
  return { route: routeName(parts.target.operation), kind, note, request: assemble(parts, change), mustRefuse }
}

function tokenFor (context: FuzzContext, target: FuzzTarget, story: FuzzStory): fc.Arbitrary<TokenChoice> {
  const valid = context.tokens.filter((token) => token.user !== undefined)
  const author = valid.find((token) => token.user === story.author) ?? valid[0]
  const anonymous = context.tokens.find((token) => token.authorization === undefined)
  const secured = target.operation.secured
  return fc.oneof(
    { weight: secured ? 6 : 2, arbitrary: fc.constant(author as TokenChoice) },
    { weight: 3, arbitrary: fc.constantFrom(...valid) },
    { weight: secured ? 1 : 3, arbitrary: fc.constant(anonymous as TokenChoice) }
  )
}

/** A valid request for `target`: an existing story (mostly its author signed in), valid parameters and body. */
function validParts (context: FuzzContext, target: FuzzTarget): fc.Arbitrary<Parts> {
  const { operation } = target
  return fc.constantFrom(...context.stories).chain((story) => {
    const path = fc.record(Object.fromEntries(pathParameters(operation).map((parameter) => [
      parameter.name,
      isUuidSchema(parameter.schema)
        ? fc.oneof({ weight: 6, arbitrary: fc.constant(story.id) }, { weight: 1, arbitrary: fc.uuid() })
        : validValue(parameter.schema, parameter.name, { known: context.known, path: operation.path }).map((value) => percentEncode(text(value)))
    ])))
    const query = fc.tuple(...queryParameters(operation).map((parameter) =>
      fc.option(validValue(parameter.schema, parameter.name, { known: context.known, path: operation.path }).map((value) => [parameter.name, text(value)] as [string, string]), { nil: undefined })))
      .map((pairs) => pairs.filter((pair): pair is [string, string] => pair !== undefined))
    const body = operation.body === undefined ? fc.constant(undefined) : validValue(operation.body, 'body', { known: context.known, trimmed: true })
    return fc.record({ path, query, token: tokenFor(context, target, story), body }).map(({ path, query, token, body }) => ({
      target,
      path,
      query: query.map(([name, value]) => [name, percentEncode(value)] as [string, string]),
      parsedQuery: Object.fromEntries(query),
      token,
      ...(body === undefined ? {} : { body })
    }))
  })
}

type Damage = (context: FuzzContext, parts: Parts) => fc.Arbitrary<FuzzRequest>

const bodyRefused = (context: FuzzContext, operation: Operation, body: JsonValue) =>
  operation.body !== undefined && !context.judge.bodyIsValid(operation.body, body)

function replaceInBody (context: FuzzContext, parts: Parts, kind: Kind, schemaFilter: (schema: JsonSchema) => boolean, values: (schema: JsonSchema) => fc.Arbitrary<{ value: JsonValue, note: string }>): fc.Arbitrary<FuzzRequest> {
  const schema = parts.target.operation.body as JsonSchema
  const matching = [{ path: [], schema }, ...schemaPaths(schema)].filter((place) => schemaFilter(place.schema))
  const places = matching.length > 0 ? matching : [{ path: [], schema }]
  return fc.constantFrom(...places).chain((place) => values(place.schema).map(({ value, note }) => {
    const body = setAt(parts.body ?? {}, place.path, value)
    const where = place.path.length === 0 ? 'body' : `body.${place.path.join('.')}`
    return request(parts, kind, `${where} ← ${note}`, bodyRefused(context, parts.target.operation, body), { body: Buffer.from(JSON.stringify(body)) })
  }))
}

function replaceInQuery (context: FuzzContext, parts: Parts, kind: Kind, values: (schema: JsonSchema) => fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> {
  const { operation } = parts.target
  return fc.constantFrom(...queryParameters(operation)).chain((parameter) => values(parameter.schema).map((value) => {
    const parsed = { ...parts.parsedQuery, [parameter.name]: value }
    const valid = context.judge.queryIsValid(querySchema(operation), parsed)
    const query: Array<[string, string]> = [...parts.query.filter(([name]) => name !== parameter.name), [parameter.name, percentEncode(value)]]
    return request(parts, kind, `query ${parameter.name}=${JSON.stringify(value)}`, !valid, { query })
  }))
}

const hasBody = (operation: Operation) => operation.body !== undefined
const hasQuery = (operation: Operation) => queryParameters(operation).length > 0
const idParameter = (operation: Operation) => pathParameters(operation).find((parameter) => isUuidSchema(parameter.schema))

const damages: Record<typeof KINDS[number], { applies: (target: FuzzTarget) => boolean, damage: Damage }> = {
  valid: {
    applies: () => true,
    damage: (_, parts) => fc.constant(request(parts, 'valid', 'as the document describes', false))
  },
  near_miss_id: {
    applies: ({ operation }) => idParameter(operation) !== undefined,
    damage: (_, parts) => {
      const name = (idParameter(parts.target.operation) as { name: string }).name
      const id = parts.path[name] as string
      return fc.constantFrom(...nearMissIds(id)).map(({ note, value }) => request(parts, 'near_miss_id', `${name} ← ${note}`,
        !CANONICAL_ID.test(decodedSegment(value) ?? ''), { path: { ...parts.path, [name]: value } }))
    }
  },
  wrong_type: {
    applies: ({ operation }) => hasBody(operation) || hasQuery(operation),
    damage: (context, parts) => hasBody(parts.target.operation)
      ? replaceInBody(context, parts, 'wrong_type', () => true, (schema) => invalidValue(schema).filter(({ value }) => typeof value !== 'string' || schema.type !== 'string'))
      : replaceInQuery(context, parts, 'wrong_type', (schema) => fc.constantFrom(...oddParameterValues(schema.type)))
  },
  size_limits: {
    applies: ({ operation }) => hasBody(operation) || hasQuery(operation),
    damage: (context, parts) => hasBody(parts.target.operation)
      ? replaceInBody(context, parts, 'size_limits',
        (schema) => schema.maxLength !== undefined || schema.minLength !== undefined || schema.maxItems !== undefined || schema.type === 'integer',
        (schema) => fc.oneof(
          invalidValue(schema).filter(({ note }) => /characters|items|minimum|maximum|blank|2\^53/.test(note)),
          validValue(schema, 'edge', { known: context.known, trimmed: true }).map((value) => ({ value, note: 'a valid value, often at a bound' }))
        ))
      : replaceInQuery(context, parts, 'size_limits', (schema) => fc.constantFrom(
        ...[schema.minimum, schema.maximum].flatMap((bound) => bound === undefined ? [] : [bound - 1, bound, bound + 1].map(String)),
        ...[schema.minLength, schema.maxLength].flatMap((bound) => bound === undefined ? [] : [bound - 1, bound, bound + 1].map((length) => 'a'.repeat(Math.max(length, 0)))),
        '9'.repeat(400)
      ))
  },
  unknown_fields: {
    applies: ({ operation }) => operation.body?.type === 'object',
    damage: (context, parts) => fc.constantFrom(1, 3, 100, 2_000).map((count) => {
      const extra = Object.fromEntries(Array.from({ length: count }, (_, i) => [`unknown_${i}`, i]))
      const body = { ...(parts.body as Record<string, JsonValue>), ...extra }
      return request(parts, 'unknown_fields', `${count} unknown properties`, bodyRefused(context, parts.target.operation, body), { body: Buffer.from(JSON.stringify(body)) })
    })
  },
  odd_unicode: {
    applies: () => true,
    damage: (context, parts) => {
      const { operation } = parts.target
      const odd = fc.constantFrom(...ODD_STRINGS)
      const id = idParameter(operation)
      const inBody = hasBody(operation)
        ? replaceInBody(context, parts, 'odd_unicode', (schema) => schema.type === 'string' && schema.format === undefined,
          () => odd.map(({ note, value }) => ({ note, value: `valid text ${value}` })))
        : undefined
      const inPath = id === undefined
        ? undefined
        : odd.map(({ note, value }) => request(parts, 'odd_unicode', `${id.name} ← ${note}`, true, { path: { ...parts.path, [id.name]: percentEncode(value) } }))
      const inQuery = odd.map(({ note, value }) => {
        const parameter = queryParameters(operation)[0]
        const name = parameter?.name ?? 'x'
        const parsed = { ...parts.parsedQuery, [name]: value }
        const refused = parameter !== undefined && !context.judge.queryIsValid(querySchema(operation), parsed)
        return request(parts, 'odd_unicode', `query ${name} ← ${note}`, refused, { query: [...parts.query.filter(([existing]) => existing !== name), [name, percentEncode(value)]] })
      })
      return fc.oneof(...[inBody, inPath, inQuery].filter((arbitrary) => arbitrary !== undefined))
    }
  },
  raw_bytes: {
    applies: () => true,
    damage: (_, parts) => {
      const { operation } = parts.target
      const filled = fillPath(operation.path, parts.path)
      return fc.tuple(fc.constantFrom(...RAW_BYTES), fc.constantFrom('body', 'path', 'query', 'header')).map(([{ note, value }, where]) => {
        const latin1 = value.toString('latin1')
        switch (where) {
          case 'body': {
            const body = Buffer.concat([Buffer.from('{"title":"raw '), value, Buffer.from(' bytes","description":"d"}')])
            const control = value.some((byte) => byte < 0x20)
            return request(parts, 'raw_bytes', `body string ← ${note}`, hasBody(operation) && control, { body })
          }
          case 'path':
            return request(parts, 'raw_bytes', `path ← ${note}`, false, { target: `${filled}${latin1}` })
          case 'query':
            return request(parts, 'raw_bytes', `query ← ${note}`, false, { target: `${filled}?x=${latin1}` })
          default:
            return request(parts, 'raw_bytes', `header ← ${note}`, false, { headers: [['x-raw', [`a${latin1}b`]]] })
        }
      })
    }
  },
  deep_json: {
    applies: () => true,
    damage: (_, parts) => fc.record({
      shape: fc.constantFrom<DeepShape>('arrays', 'objects', 'mixed'),
      depth: fc.constantFrom(...DEPTHS),
      place: fc.constantFrom('the body', 'a field', 'a chapter')
    }).map(({ shape, depth, place }) => {
      const deep = deepJson(shape, depth)
      const text = place === 'the body' ? deep : place === 'a field' ? `{"title":${deep}}` : `{"title":"t","chapters":[{"title":"c","content":${deep}}]}`
      return request(parts, 'deep_json', `${shape} ${depth} deep in ${place}`, hasBody(parts.target.operation), { body: Buffer.from(text) })
    })
  },
  duplicate_keys: {
    applies: () => true,
    damage: (_, parts) => {
      const valid = JSON.stringify(parts.body ?? { title: 'a title' })
      const inner = valid.slice(1, -1)
      const withBody = hasBody(parts.target.operation)
      const variants: Array<[string, string, boolean]> = [
        ['a key twice, the same value', `{${inner}${inner === '' ? '' : ','}${inner}}`, false],
        ['title twice, then a number', `{${inner}${inner === '' ? '' : ','}"title":42}`, withBody],
        ['title 5 000 times', `{${Array.from({ length: 5000 }, () => '"title":"t"').join(',')}}`, false],
        ['a key spelled with an escape', '{"t\\u0069tle":"a","title":"b"}', false],
        ['__proto__', `{"__proto__":{"title":"polluted"},${inner === '' ? '"title":"t"' : inner}}`, withBody],
        ['constructor.prototype', `{"constructor":{"prototype":{"title":"polluted"}},${inner === '' ? '"title":"t"' : inner}}`, withBody],
        ['a key with a NUL', '{"title\\u0000":"a","title":"b"}', withBody],
        ['an empty key', '{"":"a","title":"b"}', withBody],
        ['keys that differ in case', '{"title":"a","TITLE":"b"}', withBody]
      ]
      return fc.constantFrom(...variants).map(([note, text, refused]) => request(parts, 'duplicate_keys', note, refused, { body: Buffer.from(text) }))
    }
  },
  content_type: {
    applies: () => true,
    damage: (_, parts) => fc.tuple(fc.constantFrom(...CONTENT_TYPES), fc.constantFrom('a JSON body', 'no body', 'malformed JSON')).map(([type, shape]) => {
      const body = shape === 'no body' ? null : Buffer.from(shape === 'malformed JSON' ? '{"title": "unterminated' : JSON.stringify(parts.body ?? { title: 't' }))
      const refused = hasBody(parts.target.operation) && (shape !== 'a JSON body' || type.notJson)
      return request(parts, 'content_type', `content-type ${type.note}, ${shape}`, refused, { contentTypes: type.values, body })
    })
  },
  query: {
    applies: () => true,
    damage: (context, parts) => {
      const odd = fc.constantFrom(...oddQueries()).map(({ note, text }) => request(parts, 'query', note, false, { queryText: text }))
      if (!hasQuery(parts.target.operation)) return odd
      const repeated = fc.constantFrom(...queryParameters(parts.target.operation)).chain((parameter) =>
        validValue(parameter.schema, parameter.name, { known: context.known, path: parts.target.operation.path }).map((value) => {
          const parsed = { ...parts.parsedQuery, [parameter.name]: [text(value), text(value)] }
          const refused = !context.judge.queryIsValid(querySchema(parts.target.operation), parsed)
          const pair = `${parameter.name}=${percentEncode(text(value))}`
          return request(parts, 'query', `${parameter.name} twice`, refused, { queryText: `${pair}&${pair}` })
        }))
      const bad = replaceInQuery(context, parts, 'query', (schema) => fc.constantFrom(...oddParameterValues(schema.type)))
      return fc.oneof(odd, repeated, bad)
    }
  },
  token: {
    applies: () => true,
    damage: (context, parts) => fc.constantFrom(...context.tokens).map((token) =>
      request(parts, 'token', `authorization: ${token.name}`, token.refused && parts.target.documented, { token }))
  },
  method: {
    applies: () => true,
    damage: (context, parts) => {
      const { path } = parts.target.operation
      const documented = new Set(context.targets.filter(({ operation }) => operation.path === path).map(({ operation }) => operation.method))
      const odd = ODD_METHODS.filter((method) => !documented.has(method) && !(method === 'HEAD' && documented.has('GET')))
      return fc.constantFrom(...odd).map((method) => request(parts, 'method', `method ${method}`, true, { method }))
    }
  },
  path: {
    applies: () => true,
    damage: (_, parts) => fc.constantFrom(...oddPaths(fillPath(parts.target.operation.path, parts.path)))
      .map(({ note, value }) => request(parts, 'path', note, false, { target: value }))
  },
  header: {
    applies: () => true,
    damage: (context, parts) => {
      const valid = context.tokens.filter((token) => token.user !== undefined)
      const refused = context.tokens.find((token) => token.refused)
      const headers = oddHeaders(valid[0]?.authorization ?? '', refused?.authorization ?? '', valid[1]?.authorization ?? '')
      return fc.constantFrom(...headers).map((variant) => request(parts, 'header', variant.note, false, {
        headers: variant.set,
        ...(variant.body === undefined ? {} : { body: variant.body, contentTypes: JSON_TYPE })
      }))
    }
  },
  body_limit: {
    applies: () => true,
    damage: (context, parts) => fc.constantFrom(-1, 0, 1, 1024).map((over) => {
      const size = context.bodyLimit + over
      const prefix = '{"title":"t","description":"'
      const body = Buffer.alloc(size, 'd')
      body.write(prefix)
      body.write('"}', size - 2)
      return request(parts, 'body_limit', `a ${size}-byte body (limit ${over >= 0 ? '+' : ''}${over})`, hasBody(parts.target.operation) && over > 0, { body })
    })
  }
}

export interface PlanEntry {
  label: string
  arbitrary: fc.Arbitrary<FuzzCase>
}

const alone = (kind: Kind) => (fuzzRequest: FuzzRequest): FuzzCase => ({ kind, requests: [fuzzRequest] })

const READ_KINDS = ['valid', 'near_miss_id', 'token', 'query', 'odd_unicode'] as const

/** One entry per route and applicable kind, and concurrent reads of the documented GET routes. */
export function fuzzPlan (context: FuzzContext): PlanEntry[] {
  const entries = context.targets.flatMap((target) => KINDS.filter((kind) => damages[kind].applies(target)).map((kind) => ({
    label: `${routeName(target.operation)} ${kind}`,
    arbitrary: validParts(context, target).chain((parts) => damages[kind].damage(context, parts)).map(alone(kind))
  })))
  const reads = context.targets.filter((target) => target.documented && target.operation.method === 'GET').flatMap((target) =>
    READ_KINDS.filter((kind) => damages[kind].applies(target)).map((kind) => validParts(context, target).chain((parts) => damages[kind].damage(context, parts))))
  const concurrent: PlanEntry = {
    label: 'concurrent reads',
    arbitrary: fc.array(fc.oneof(...reads), { minLength: 2, maxLength: 8 }).map((requests) => ({ kind: 'concurrent_reads' as const, requests }))
  }
  // About one case in ten is a set of concurrent reads.
  return entries.flatMap((entry, i) => i % 9 === 8 ? [entry, concurrent] : [entry])
}
