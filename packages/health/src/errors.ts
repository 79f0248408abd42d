import createError from '@fastify/error'

/** A plugin option is out of range or of the wrong type; raised when the plugin registers. */
export const InvalidOptionError = createError<[string, string]>(
  'MUEJAM_HEALTH_INVALID_OPTION',
  'Invalid @muejam/health option %s: %s',
  500,
  TypeError
)

/** `addCheck` was called with a bad name, function or options. */
export const InvalidCheckError = createError<[string, string]>(
  'MUEJAM_HEALTH_INVALID_CHECK',
  'Invalid health check %s: %s',
  500,
  TypeError
)

/** Two checks under one name would overwrite each other in the report. */
export const DuplicateCheckError = createError<[string]>(
  'MUEJAM_HEALTH_DUPLICATE_CHECK',
  'A health check named "%s" is already registered',
  500
)

/** The client error answered while the process sheds load. */
export class OverloadedError extends Error {
  readonly statusCode = 503
  readonly code = 'overloaded'
  readonly headers: Record<string, string>
  readonly extensions: Record<string, unknown>

  constructor (retryAfterS: number) {
    super('The server is overloaded; retry later.')
    this.name = 'OverloadedError'
    this.headers = { 'retry-after': String(retryAfterS) }
    this.extensions = { retry_after: retryAfterS }
  }
}
