import { STATUS_CODES } from 'node:http'
import { sqlState } from '@muejam/db-pool'
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
 * cannot parse as the column's type, a number out of range, a NUL byte). The client's to fix.
 */
function isDataException (error: ClientError): boolean {
  return error.statusCode === undefined && sqlState(error)?.startsWith('22') === true
}

const DATA_EXCEPTION_DETAIL = 'A value in the request is not one the database can store: malformed, out of range, too long, or holding a character such as NUL.'

function fallbackCode (status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')
}

function fieldErrors (validation: NonNullable<FastifyError['validation']>, context: string | undefined) {
  return validation.map((issue) => {
    const params = issue.params as Record<string, unknown>
    const child = params.missingProperty ?? params.additionalProperty
    const path = [context, ...issue.instancePath.split('/').filter(Boolean), child].filter(Boolean).join('.')
    return { field: path, message: issue.message ?? 'is invalid' }
  })
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
export function toProblem (error: ClientError, request: FastifyRequest, debug: boolean): ProblemBody {
  if (isDataException(error)) return toProblem({ name: 'DataException', message: DATA_EXCEPTION_DETAIL, statusCode: 400, code: 'invalid_input' }, request, debug)
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
  const extensions: Record<string, unknown> = { ...error.extensions }
  let code: string
  let detail: string
  if (error.validation) {
    code = 'validation_failed'
    detail = 'The request is invalid; see errors.'
    extensions.errors = fieldErrors(error.validation, (error as FastifyError).validationContext)
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
    detail,
    instance: request.url.split('?')[0] ?? request.url,
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
