import { createMissingPeerError, createOptionError, createProblemError } from '@muejam/problem'

/** Thrown at registration when an option is missing or out of range. */
export const InvalidOptionError = createOptionError('@muejam/db-pool')

/** An optional peer dependency a configured feature needs is not installed. */
export const MissingPeerError = createMissingPeerError('@muejam/db-pool')

/**
 * No connection could be had within `connectTimeoutMs` (pool exhausted, database down or
 * refusing the credentials). Clients get 503 with `Retry-After`; the reason stays in `cause`.
 */
export const DbUnavailableError = createProblemError({
  code: 'db_unavailable',
  statusCode: 503,
  message: (_retryAfterSeconds: number) => 'The database is busy or unreachable; try again shortly.',
  headers: (retryAfterSeconds) => ({ 'retry-after': String(retryAfterSeconds) })
})

/** A unique constraint refused the write: 409 `conflict`. The constraint name stays in `cause`. */
export const DbConflictError = createProblemError({
  code: 'conflict',
  statusCode: 409,
  name: 'DbConflictError',
  message: () => 'The request conflicts with data that already exists.'
})

/**
 * The request's signal was aborted (client gone) while its query ran; the query was
 * cancelled in PostgreSQL. 499 is the conventional "client closed request" status: nobody
 * is waiting for the answer, and it is not a server failure.
 */
export const DbQueryCancelledError = createProblemError({
  code: 'query_cancelled',
  statusCode: 499,
  name: 'DbQueryCancelledError',
  message: () => 'The request was cancelled before the database finished.'
})
