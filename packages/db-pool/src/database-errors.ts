import { DbConflictError, DbQueryCancelledError } from './errors.js'

const SQLSTATE = /^[0-9A-Z]{5}$/

/** The SQLSTATE of a database error, or undefined for network and driver errors. */
export function sqlState (error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined
}

/**
 * True when the connection itself failed (socket closed, server shutting down) rather than
 * the statement: the connection is discarded and a read may be retried elsewhere.
 */
export function isConnectionError (error: unknown): boolean {
  const state = sqlState(error)
  if (state === undefined) return true
  return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03'
}

/** Serialization failure and deadlock: the transaction may succeed when run again. */
export function isRetryableTransactionError (error: unknown): boolean {
  const state = sqlState(error)
  return state === '40001' || state === '40P01'
}

/** What a client may see of a database error: unique violations become 409, the rest is kept. */
export function toClientError (error: unknown): unknown {
  return sqlState(error) === '23505' ? new DbConflictError(error) : error
}

/**
 * The error for a query stopped because its request's signal was aborted: the abort reason
 * when it is meant for clients (a deadline's 504), else `query_cancelled`.
 */
export function cancelledError (signal: AbortSignal, cause?: unknown): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error && typeof (reason as { statusCode?: unknown }).statusCode === 'number') return reason
  return new DbQueryCancelledError(cause)
}
