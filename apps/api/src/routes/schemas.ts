import { Type, type Static, type TSchema } from 'typebox'

/** No NUL characters: PostgreSQL text cannot hold them. */
const NO_NUL = '^[^\\u0000]*$'

/** A string the API stores: trimmed before validation (see trim-body.ts), bounded, NUL-free. */
export function Text (minLength: number, maxLength: number, description: string) {
  return Type.String({ minLength, maxLength, pattern: NO_NUL, description })
}

/**
 * The canonical 8-4-4-4-12 hex form only, in any case. ajv-formats' `uuid` also admits
 * `urn:uuid:…`, which PostgreSQL refuses; PostgreSQL admits braces and missing dashes, which
 * would make one row answer to many spellings.
 */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

export const Uuid = Type.String({ pattern: UUID_PATTERN, description: 'A UUID in the 8-4-4-4-12 hex form.' })

export const Timestamp = Type.String({ format: 'date-time' })

/**
 * `schema`'s values or null, as a `type` list: the response serializer picks a type list's
 * member with a typeof check, and a union's (`anyOf`) by validating the value against each.
 */
export function Nullable<T extends TSchema & { type: string }> (schema: T, options: { description?: string } = {}) {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [schema.type, 'null'] })
}

/** One of `values`, as a string with `enum` (serialized as a string, not through a union). */
export function StringEnum<const Values extends readonly string[]> (values: Values) {
  return Type.Unsafe<Values[number]>({ type: 'string', enum: [...values] })
}

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false })

/** RFC 9457 problem details, as the API's error handler renders them (`application/problem+json`). */
export const Problem = Type.Object({
  type: Type.String({ description: '`urn:muejam:problem:<code>`.' }),
  title: Type.String({ description: 'The HTTP status text.' }),
  status: Type.Integer({ description: 'The HTTP status.' }),
  detail: Type.String({ description: 'What went wrong, for a person; match on `code`, not on this.' }),
  instance: Type.String({ description: 'The request path, without its query string.' }),
  code: Type.String({ description: 'Stable, snake_case reason, e.g. validation_failed or story_not_found.' }),
  request_id: Type.String({ description: 'The request\'s id, also in the X-Request-Id header and the logs.' }),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), { description: 'validation_failed, invalid_cursor: the fields at fault.' })),
  errors_omitted: Type.Optional(Type.Integer({ description: 'How many more errors there were than are listed.' })),
  claim: Type.Optional(Type.String({ description: 'The token claim a 401 is about.' })),
  limit: Type.Optional(Type.Integer({ description: 'rate_limited: the budget of the window.' })),
  retry_after: Type.Optional(Type.Integer({ description: 'Seconds until a retry may succeed, as in Retry-After.' })),
  timeout_ms: Type.Optional(Type.Integer({ description: 'request_timeout: the deadline, in ms.' }))
}, { additionalProperties: true, description: 'An RFC 9457 problem: every error the API answers, as `application/problem+json`.' })

/**
 * Error responses the route's handler answers (403, 404, 409, 412…). Those every route may get
 * from the API's plugins (400, 401, 413, 415, 429, 500, 503, 504) are added to the OpenAPI
 * document from the route's settings; see plugins/openapi-responses.ts.
 */
export function problems (...statuses: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(statuses.map((status) => [status, Problem]))
}

export const bearer = [{ bearer: [] }]

/** A response header as the OpenAPI document shows it (@fastify/swagger reads a response schema's `headers`). */
interface HeaderSchema {
  type: 'string'
  format?: string
  description: string
}

export const ETAG_HEADER: Record<string, HeaderSchema> = {
  etag: { type: 'string', description: 'A strong entity tag of the representation; send it back in If-None-Match (reads) or If-Match (writes).' }
}

export const LOCATION_HEADER: Record<string, HeaderSchema> = {
  location: { type: 'string', format: 'uri', description: 'The created resource\'s absolute URL, on PUBLIC_URL.' }
}

/** `schema`, documented with the response headers `headers`; serialization is unchanged. */
export function withHeaders<T extends object> (schema: T, ...headers: Array<Record<string, HeaderSchema>>): T {
  return { ...schema, headers: Object.assign({}, ...headers) as Record<string, HeaderSchema> }
}

/** The 304 of a read whose If-None-Match matched: no body, the current ETag. */
export function notModified (): Record<304, { type: 'null', description: string, headers: Record<string, HeaderSchema> }> {
  return { 304: { type: 'null', description: 'Not Modified: If-None-Match matches the current ETag; no body.', headers: ETAG_HEADER } }
}

/** The request headers of a conditional request, so clients (and the typed client) can send them. */
export const ConditionalHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'Proceed only if the current ETag is one of these (strong comparison), or `*`; else 412 precondition_failed.' })),
  'if-none-match': Type.Optional(Type.String({ description: 'A read answers 304 when the current ETag is one of these (weak comparison), or `*`; a write gets 412.' }))
})
