import createError from '@fastify/error'

/** Thrown at registration when an option is missing or out of range. */
export const InvalidOptionError = createError('MUEJAM_DB_POOL_INVALID_OPTION', 'Invalid @muejam/db-pool option: %s', 500, TypeError)

/** An optional peer dependency a configured feature needs is not installed. */
export const MissingPeerError = createError<[string, string, string]>(
  'MUEJAM_DB_POOL_MISSING_PEER',
  '%s needs the optional peer dependency %s, which is not installed: run `npm install %s`'
)

/**
 * No connection could be had within `connectTimeoutMs` (pool exhausted, database down or
 * refusing the credentials). Clients get 503 with `Retry-After`; the reason stays in `cause`.
 */
export class DbUnavailableError extends Error {
  readonly statusCode = 503
  readonly code = 'db_unavailable'
  readonly headers: Record<string, string>

  constructor (retryAfterSeconds: number, cause?: unknown) {
    super('The database is busy or unreachable; try again shortly.', { cause })
    this.name = 'DbUnavailableError'
    this.headers = { 'retry-after': String(retryAfterSeconds) }
  }
}

/** A unique constraint refused the write. The constraint name stays in `cause`. */
export class DbConflictError extends Error {
  readonly statusCode = 409
  readonly code = 'conflict'

  constructor (cause: unknown) {
    super('The request conflicts with data that already exists.', { cause })
    this.name = 'DbConflictError'
  }
}

/**
 * The request's signal was aborted (client gone) while its query ran; the query was
 * cancelled in PostgreSQL. 499 is the conventional "client closed request" status: nobody
 * is waiting for the answer, and it is not a server failure.
 */
export class DbQueryCancelledError extends Error {
  readonly statusCode = 499
  readonly code = 'query_cancelled'

  constructor (cause?: unknown) {
    super('The request was cancelled before the database finished.', { cause })
    this.name = 'DbQueryCancelledError'
  }
}
