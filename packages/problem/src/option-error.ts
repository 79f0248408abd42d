import createError, { type FastifyError } from '@fastify/error'

/** What `createOptionError` returns: a `TypeError` naming the option and what is wrong with it. */
export interface InvalidOptionError extends TypeError, FastifyError {
  readonly code: string
  readonly statusCode: 500
}

export interface InvalidOptionErrorConstructor {
  new (option: string, reason: string): InvalidOptionError
  readonly prototype: InvalidOptionError
  /** `MUEJAM_<PKG>_INVALID_OPTION`, the code every instance carries. */
  readonly code: string
}

/** `@muejam/rate-limit` → `MUEJAM_RATE_LIMIT`; an unscoped name has no prefix. */
export function codePrefix (packageName: string): string {
  return packageName.replace(/^@/, '').toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '')
}

/**
 * The `InvalidOptionError` class of one package: `new InvalidOptionError(option, reason)`,
 * code `MUEJAM_<PKG>_INVALID_OPTION`, message `Invalid <package> option "<option>": <reason>`.
 */
export function createOptionError (packageName: string): InvalidOptionErrorConstructor {
  if (typeof packageName !== 'string' || codePrefix(packageName) === '') {
    throw new TypeError('createOptionError needs the package name, such as "@muejam/rate-limit"')
  }
  const code = `${codePrefix(packageName)}_INVALID_OPTION`
  // util.format reads % as a placeholder: a name holding one is escaped.
  const Base = createError<[string, string]>(code, `Invalid ${packageName.replaceAll('%', '%%')} option "%s": %s`, 500, TypeError)
  class InvalidOptionError extends Base {
    static readonly code = code
    constructor (option: string, reason: string) {
      super(option, reason)
      this.name = 'InvalidOptionError'
      Error.captureStackTrace(this, InvalidOptionError)
    }
  }
  return InvalidOptionError as unknown as InvalidOptionErrorConstructor
}
