import createError from '@fastify/error'
import { createOptionError, createProblemError } from '@muejam/problem'

/** A plugin option is out of range or of the wrong type; raised when the plugin registers. */
export const InvalidOptionError = createOptionError('@muejam/timeouts')

/** A route's `config.timeout` is neither a positive whole number of milliseconds nor `false`. */
export const InvalidRouteTimeoutError = createError<[string, string, string]>(
  'MUEJAM_TIMEOUTS_INVALID_ROUTE_TIMEOUT',
  'Invalid config.timeout on %s %s: %s (use a positive whole number of milliseconds, or false)',
  500,
  TypeError
)

/** The client error answered when a request outlives its deadline: 504 `request_timeout`. */
export const RequestTimeoutError = createProblemError({
  code: 'request_timeout',
  statusCode: 504,
  message: (timeoutMs: number) => `The request did not complete within ${timeoutMs} ms.`,
  extensions: (timeoutMs) => ({ timeout_ms: timeoutMs })
})
