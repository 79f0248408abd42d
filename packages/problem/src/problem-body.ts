import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isProblemError, type ProblemError } from './problem-error.js'
import { clip } from './clip.js'
import { fieldErrors } from './field-errors.js'

/** An RFC 9457 problem, with the members this package adds: `code`, `request_id` and the extensions. */
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

/** Turns an error that is not a problem error into one (a database's refusal of a value into a 400), or leaves it. */
export type MapError = (error: unknown) => ProblemError | undefined

export interface RenderOptions {
  /** Start of every `type` URI; the code is appended. Default: `urn:problem:`. */
  typeBase?: string
  /** Put the stack of 5xx errors into their bodies. Default: false. Never in production. */
  debug?: boolean
  /** Applied to every thrown value that is not already a problem error. Default: none. */
  mapError?: MapError
}

export const DEFAULT_TYPE_BASE = 'urn:problem:'

/** Fastify's own client errors, by their FST_ERR code. Others of its 4xx errors are named after their status. */
const FASTIFY_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type'
}

/** Members an extension may not replace. */
const STANDARD_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'request_id'])

/*
 * Bounds on what a problem echoes of the request, so that its body stays small for any input:
 * a detail and an instance of at most 200 characters (the validation list has its own bounds).
 */
const ECHO_MAX = 200

const INTERNAL_DETAIL = 'The server could not complete the request.'

/** The error a client is told about: problem errors as they are, others through `mapError` when it maps them. */
function clientFacing (thrown: unknown, mapError: MapError | undefined): unknown {
  if (mapError === undefined || isProblemError(thrown)) return thrown
  return mapError(thrown) ?? thrown
}

/** Node's reason phrase, or the class of the status for one it does not know (499). */
function titleOf (status: number): string {
  return STATUS_CODES[status] ?? (status < 500 ? 'Client Error' : 'Server Error')
}

/** The URL without its query string, which may carry secrets. */
export function pathOf (url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function fallbackCode (status: number): string {
  return titleOf(status).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')
}

interface ErrorFields {
  statusCode?: unknown
  code?: unknown
  message?: unknown
  stack?: unknown
  validation?: FastifyError['validation']
  validationContext?: FastifyError['validationContext']
}

function fieldsOf (thrown: unknown): ErrorFields {
  return typeof thrown === 'object' && thrown !== null ? thrown as ErrorFields : {}
}

function statusOf (statusCode: unknown): number {
  return typeof statusCode === 'number' && Number.isInteger(statusCode) && statusCode >= 400 && statusCode <= 599 ? statusCode : 500
}

/**
 * Renders any thrown value as an RFC 9457 problem. Problem errors keep their status, code,
 * message and extensions; Fastify's validation errors list each field; other 4xx errors keep
 * their message under a code named after their status; anything else is a 500 whose detail
 * says nothing of the cause.
 */
export function toProblem (thrown: unknown, request: FastifyRequest, options: RenderOptions = {}): ProblemBody {
  return renderProblem(thrown, request, options).problem
}

/** The problem for a thrown value, and the response headers its problem error asks for. */
export function renderProblem (thrown: unknown, request: FastifyRequest, options: RenderOptions = {}): { problem: ProblemBody, headers: Readonly<Record<string, string>> | undefined } {
  const error = clientFacing(thrown, options.mapError)
  const fields = fieldsOf(error)
  const status = statusOf(fields.statusCode)
  const message = typeof fields.message === 'string' ? fields.message : ''
  let extensions: Record<string, unknown> = {}
  let code: string
  let detail: string
  if (Array.isArray(fields.validation)) {
    code = 'validation_failed'
    detail = 'The request is invalid; see errors.'
    extensions = fieldErrors(fields.validation, fields.validationContext)
  } else if (isProblemError(error)) {
    code = error.code
    detail = message
    extensions = { ...error.extensions }
  } else if (typeof fields.code === 'string' && FASTIFY_CODES[fields.code] !== undefined && status < 500) {
    code = FASTIFY_CODES[fields.code] as string
    detail = message
  } else if (status < 500) {
    code = fallbackCode(status)
    detail = message
  } else {
    code = 'internal_error'
    detail = INTERNAL_DETAIL
  }
  if (status >= 500 && options.debug === true) {
    const { stack } = fieldsOf(thrown)
    extensions.stack = typeof stack === 'string' ? stack : String(thrown)
  }
  const body: ProblemBody = {
    type: `${options.typeBase ?? DEFAULT_TYPE_BASE}${code}`,
    title: titleOf(status),
    status,
    detail: clip(detail, ECHO_MAX),
    // A URI reference: cut, never marked with an ellipsis.
    instance: pathOf(request.url).slice(0, ECHO_MAX),
    code,
    request_id: request.id
  }
  for (const [name, value] of Object.entries(extensions)) {
    if (!STANDARD_MEMBERS.has(name)) body[name] = value
  }
  return { problem: body, headers: isProblemError(error) ? error.headers : undefined }
}

/** Sends the problem as `application/problem+json` with its status. */
export function sendProblem (reply: FastifyReply, problem: ProblemBody): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem)
}
