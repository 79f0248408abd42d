import createError from '@fastify/error'
import { createOptionError, createProblemError } from '@muejam/problem'

/** A plugin option is out of range or of the wrong type; raised when the plugin registers. */
export const InvalidOptionError = createOptionError('@muejam/health')

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

/** The client error answered while the process sheds load: 503 `overloaded` with `Retry-After`. */
export const OverloadedError = createProblemError({
  code: 'overloaded',
  statusCode: 503,
  message: (_retryAfterS: number) => 'The server is overloaded; retry later.',
  headers: (retryAfterS) => ({ 'retry-after': String(retryAfterS) }),
  extensions: (retryAfterS) => ({ retry_after: retryAfterS })
})
