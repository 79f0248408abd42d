import createError, { type FastifyError } from '@fastify/error'
import { InvalidOptionError } from './errors.js'

/**
 * The error contract every plugin meets for errors meant for clients. Any error that has it,
 * whoever built it, is rendered as a problem: the status, the code, the message as `detail`,
 * the headers on the response and the extensions as extra members of the body.
 */
export interface ProblemError extends Error {
  /** HTTP status, 400–599. */
  readonly statusCode: number
  /** snake_case (`rate_limited`): the problem's `code` and the end of its `type`. */
  readonly code: string
  /** Response headers, lower-case names (`retry-after`, `www-authenticate`). */
  readonly headers?: Readonly<Record<string, string>>
  /** Extra members of the problem body (`retry_after`, `claim`). */
  readonly extensions?: Readonly<Record<string, unknown>>
}

export interface ProblemErrorSpec<Args extends unknown[], Code extends string, Status extends number> {
  /** snake_case, e.g. `rate_limited`. */
  code: Code
  /** 400–599. */
  statusCode: Status
  /** The message, shown to clients as the problem's `detail`: never put secrets in it. */
  message: (...args: Args) => string
  /** Response headers sent with the problem. */
  headers?: (...args: Args) => Record<string, string>
  /** Extra members of the problem body, snake_case names by convention. */
  extensions?: (...args: Args) => Record<string, unknown>
  /** The error's `name`. Default: the code in PascalCase plus `Error` (`RateLimitedError`). */
  name?: string
}

/** The last constructor argument beyond the spec's: `{ cause }`, as `Error` takes it. */
export interface ProblemErrorOptions {
  cause?: unknown
}

export type ProblemErrorInstance<Code extends string = string, Status extends number = number> =
  FastifyError & ProblemError & { readonly code: Code, readonly statusCode: Status }

export interface ProblemErrorConstructor<Args extends unknown[], Code extends string = string, Status extends number = number> {
  new (...args: Args | [...Args, ProblemErrorOptions]): ProblemErrorInstance<Code, Status>
  readonly prototype: ProblemErrorInstance<Code, Status>
  readonly code: Code
  readonly statusCode: Status
}

const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/

/** Whether `code` is a problem code: snake_case, starting with a letter. */
export function isProblemCode (code: unknown): code is string {
  return typeof code === 'string' && SNAKE_CASE.test(code)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Narrows any thrown value to the contract: an `Error` with a 4xx/5xx `statusCode` and a snake_case `code`. */
export function isProblemError (value: unknown): value is ProblemError {
  if (!(value instanceof Error)) return false
  const { statusCode, code, headers, extensions } = value as Error & Record<string, unknown>
  return typeof statusCode === 'number' && Number.isInteger(statusCode) && statusCode >= 400 && statusCode <= 599 &&
    isProblemCode(code) &&
    (headers === undefined || (isRecord(headers) && Object.values(headers).every((header) => typeof header === 'string'))) &&
    (extensions === undefined || isRecord(extensions))
}

function pascalCase (code: string): string {
  return code.split('_').map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')
}

function isCauseOptions (value: unknown): value is ProblemErrorOptions {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return false
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === 'cause'
}

function checkSpec (spec: ProblemErrorSpec<unknown[], string, number>): void {
  if (!isRecord(spec)) throw new InvalidOptionError('spec', 'must be an object { code, statusCode, message }')
  if (!isProblemCode(spec.code)) throw new InvalidOptionError('code', 'must be snake_case, such as rate_limited')
  const { statusCode } = spec
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599) {
    throw new InvalidOptionError('statusCode', 'must be an integer from 400 to 599')
  }
  if (typeof spec.message !== 'function') throw new InvalidOptionError('message', 'must be a function returning the message')
  if (spec.headers !== undefined && typeof spec.headers !== 'function') throw new InvalidOptionError('headers', 'must be a function returning the headers')
  if (spec.extensions !== undefined && typeof spec.extensions !== 'function') throw new InvalidOptionError('extensions', 'must be a function returning the extensions')
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name === '')) throw new InvalidOptionError('name', 'must be a non-empty string')
}

/**
 * A class of errors meant for clients, built on `@fastify/error`: `new RateLimited(100, 30)`
 * has the spec's status and code, the message, headers and extensions its functions make of
 * the arguments. A last argument `{ cause }` becomes the error's `cause`.
 */
export function createProblemError<Args extends unknown[], Code extends string = string, Status extends number = number> (
  spec: ProblemErrorSpec<Args, Code, Status>
): ProblemErrorConstructor<Args, Code, Status> {
  checkSpec(spec as unknown as ProblemErrorSpec<unknown[], string, number>)
  const { code, statusCode, message, headers, extensions } = spec
  const name = spec.name ?? `${pascalCase(code)}Error`
  // @fastify/error upper-cases the code it is given; the instance gets the snake_case one back.
  const Base = createError<[string] | [string, ProblemErrorOptions]>(code, '%s', statusCode)

  class Problem extends Base {
    static readonly code = code
    static readonly statusCode = statusCode
    declare headers?: Record<string, string>
    declare extensions?: Record<string, unknown>

    constructor (...given: Args | [...Args, ProblemErrorOptions]) {
      const last = given.at(-1)
      const options = given.length > 0 && isCauseOptions(last) ? last : undefined
      const args = (options === undefined ? given : given.slice(0, -1)) as Args
      super(...(options === undefined ? [message(...args)] as [string] : [message(...args), options] as [string, ProblemErrorOptions]))
      this.code = code
      this.name = name
      if (headers !== undefined) this.headers = headers(...args)
      if (extensions !== undefined) this.extensions = extensions(...args)
      Error.captureStackTrace(this, Problem)
    }
  }
  Object.defineProperty(Problem, 'name', { value: name })
  return Problem as unknown as ProblemErrorConstructor<Args, Code, Status>
}
