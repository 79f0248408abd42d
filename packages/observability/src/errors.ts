import createError from '@fastify/error'
import { createMissingPeerError, createOptionError, createProblemError } from '@muejam/problem'

/** A registration option is missing, of the wrong type or out of range. */
export const InvalidOptionError = createOptionError('@muejam/observability')

/** `app.metrics.counter` / `gauge` was given a bad name, labels, help or collect function. */
export const InvalidMetricError = createError<'MUEJAM_OBSERVABILITY_INVALID_METRIC', [string, string]>(
  'MUEJAM_OBSERVABILITY_INVALID_METRIC',
  'Invalid metric "%s": %s',
  500,
  TypeError
)

/** Two metrics under one name would clash in the exposition. */
export const DuplicateMetricError = createError<'MUEJAM_OBSERVABILITY_DUPLICATE_METRIC', [string]>(
  'MUEJAM_OBSERVABILITY_DUPLICATE_METRIC',
  'A metric named "%s" is already registered'
)

/** An optional peer dependency a configured feature needs is not installed. */
export const MissingPeerError = createMissingPeerError('@muejam/observability')

/** What a client sees when it scrapes `/metrics` without the right bearer token: 401 `unauthenticated`. */
export const MetricsUnauthorizedError = createProblemError({
  code: 'unauthenticated',
  statusCode: 401,
  name: 'MetricsUnauthorizedError',
  message: (tokenSent: boolean) => tokenSent ? 'The metrics token is not valid.' : 'The metrics endpoint requires a bearer token.',
  headers: (tokenSent) => ({
    'www-authenticate': tokenSent ? 'Bearer realm="metrics", error="invalid_token"' : 'Bearer realm="metrics"'
  })
})
