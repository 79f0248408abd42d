import createError from '@fastify/error'

/** A plugin option is out of range or of the wrong type; raised when the plugin registers. */
export const InvalidOptionError = createError<[string, string]>(
  'MUEJAM_TIMEOUTS_INVALID_OPTION',
  'Invalid @muejam/timeouts option %s: %s',
  500,
  TypeError
)

/** A route's `config.timeout` is neither a positive whole number of milliseconds nor `false`. */
export const InvalidRouteTimeoutError = createError<[string, string, string]>(
  'MUEJAM_TIMEOUTS_INVALID_ROUTE_TIMEOUT',
  'Invalid config.timeout on %s %s: %s (use a positive whole number of milliseconds, or false)',
  500,
  TypeError
)

/** The client error answered when a request outlives its deadline. */
export class RequestTimeoutError extends Error {
  readonly statusCode = 504
  readonly code = 'request_timeout'
  readonly extensions: Record<string, unknown>

  constructor (timeoutMs: number) {
    super(`The request did not complete within ${timeoutMs} ms.`)
    this.name = 'RequestTimeoutError'
    this.extensions = { timeout_ms: timeoutMs }
  }
}
