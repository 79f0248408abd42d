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

/**
 * SQLSTATE class 22, data exception: PostgreSQL refused a value the statement carried (text it
 * cannot read as the column's type, a number out of range, a NUL byte): the caller's input, not
 * the database, is at fault.
 */
export function isDataException (error: unknown): boolean {
  return sqlState(error)?.startsWith('22') === true
}

/** Serialization failure and deadlock: the transaction may succeed when run again. */
export function isRetryableTransactionError (error: unknown): boolean {
  const state = sqlState(error)
  return state === '40001' || state === '40P01'
}

/*
 * Fields of a PostgreSQL error that quote the data of the statement or the failing row
 * ("Failing row contains (…)", "Key (handle)=(…) already exists"): request bodies, in short.
 * They stay readable, but not enumerable, so loggers and error reporters that copy an
 * error's own fields leave them out.
 */
const ROW_DATA_FIELDS = ['detail', 'where', 'internalQuery']

function hideRowData (error: unknown): void {
  if (typeof error !== 'object' || error === null) return
  for (const field of ROW_DATA_FIELDS) {
    if (Object.hasOwn(error, field)) Object.defineProperty(error, field, { enumerable: false })
  }
}

/**
 * What a client may see of a database error: unique violations become 409, the rest is kept.
 * Either way the row data it quotes is kept out of logs.
 */
export function toClientError (error: unknown): unknown {
  hideRowData(error)
  return sqlState(error) === '23505' ? new DbConflictError({ cause: error }) : error
}

/**
 * The error for a query stopped because its request's signal was aborted: the abort reason
 * when it is meant for clients (a deadline's 504), else `query_cancelled`.
 */
export function cancelledError (signal: AbortSignal, cause?: unknown): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error && typeof (reason as { statusCode?: unknown }).statusCode === 'number') return reason
  return new DbQueryCancelledError({ cause })
}
