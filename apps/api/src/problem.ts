import { STATUS_CODES } from 'node:http'
import { isDataException } from '@muejam/db-pool'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * What plugins attach to errors meant for clients: `statusCode`, a snake_case `code` that
 * becomes the problem code, optional `headers` and `extensions` (extra body members).
 */
export interface ClientError extends Error {
  statusCode?: number
  code?: string
  headers?: Record<string, string>
  extensions?: Record<string, unknown>
  validation?: FastifyError['validation']
}

export interface ProblemOptions {
  /** Put stack traces into 5xx bodies (never in production). */
  debug: boolean
}

const PROBLEM_CODE = /^[a-z][a-z0-9_]*$/

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type'
}

/**
 * SQLSTATE class 22, data exception: PostgreSQL refused a value the request carried (text it
 * cannot parse as the column's type, a number out of range, a NUL byte). The client's to fix;
 * the database's message quotes the value and the SQL type, so it is replaced.
 */
function asInvalidInput (error: ClientError): ClientError {
  if (error.statusCode !== undefined || !isDataException(error)) return error
  return {
    name: 'InvalidInput',
    message: 'A value in the request is not one the database can store: malformed, out of range, too long, or holding a character such as NUL.',
    statusCode: 400,
    code: 'invalid_input'
  }
}

function fallbackCode (status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')
}

/*
 * Bounds on what a problem echoes of the request, so that its body stays under 16 KiB for any
 * input, even names that JSON escapes six-fold (\u0001): 20 errors of at most 64 + 100
 * characters, a detail and an instance of at most 200.
 */
const ERRORS_MAX = 20
const FIELD_MAX = 64
const MESSAGE_MAX = 100
const ECHO_MAX = 200

/** `text` cut to `max` characters, the cut marked with an ellipsis and no half surrogate pair left. */
function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1
  return `${text.slice(0, end)}…`
}

/** The first errors, as `{ field, message }`, and how many more there were. */
function fieldErrors (validation: NonNullable<FastifyError['validation']>, context: string | undefined): Record<string, unknown> {
  const errors = validation.slice(0, ERRORS_MAX).map((issue) => {
    const params = issue.params as Record<string, unknown>
    const child = params.missingProperty ?? params.additionalProperty
    const path = [context, ...issue.instancePath.split('/').filter(Boolean), child].filter(Boolean).join('.')
    return { field: clip(path, FIELD_MAX), message: clip(issue.message ?? 'is invalid', MESSAGE_MAX) }
  })
  const omitted = validation.length - errors.length
  return omitted > 0 ? { errors, errors_omitted: omitted } : { errors }
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  code: string
  request_id: string
  [extension: string]: unknown
}

/** Renders any error as an RFC 9457 problem; 5xx details stay generic unless deliberate. */
export function toProblem (thrown: ClientError, request: FastifyRequest, debug: boolean): ProblemBody {
  const error = asInvalidInput(thrown)
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  const extensions: Record<string, unknown> = { ...error.extensions }
  let code: string
  let detail: string
  if (error.validation) {
    code = 'validation_failed'
    detail = 'The request is invalid; see errors.'
    Object.assign(extensions, fieldErrors(error.validation, (error as FastifyError).validationContext))
  } else if (error.code !== undefined && FASTIFY_CODES[error.code] !== undefined) {
    code = FASTIFY_CODES[error.code] as string
    detail = error.message
  } else if (error.code !== undefined && PROBLEM_CODE.test(error.code)) {
    code = error.code
    detail = error.message
  } else if (status < 500) {
    code = fallbackCode(status)
    detail = error.message
  } else {
    code = 'internal_error'
    detail = 'The server could not complete the request.'
    if (debug) extensions.stack = error.stack
  }
  return {
    type: `urn:muejam:problem:${code}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: clip(detail, ECHO_MAX),
    instance: (request.url.split('?')[0] ?? request.url).slice(0, ECHO_MAX),
    code,
    request_id: request.id,
    ...extensions
  }
}

export function sendProblem (reply: FastifyReply, problem: ProblemBody) {
  return reply.code(problem.status).type('application/problem+json').send(problem)
}

/** Error and not-found handlers that answer application/problem+json. */
export function registerProblemHandlers (app: FastifyInstance, { debug }: ProblemOptions) {
  app.setErrorHandler((error: ClientError, request, reply) => {
    const problem = toProblem(error, request, debug)
    if (error.headers) reply.headers(error.headers)
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    return sendProblem(reply, problem)
  })
  app.setNotFoundHandler((request, reply) => sendProblem(reply, toProblem(
    { name: 'NotFound', message: `No route for ${request.method} ${request.url.split('?')[0]}`, statusCode: 404, code: 'route_not_found' },
    request,
    debug
  )))
}
