import { AbortedTransactionError, type CompiledQuery, type QueryResult, type TransactionSettings } from 'kysely'
import type pg from 'pg'
import { sendCancelRequest, type CancellableClient } from './cancel-request.js'
import { beginStatement, isWrite, type ConnectionSource, type QueryScope, type ScopedConnection } from './connection.js'
import { cancelledError, isConnectionError, toClientError } from './database-errors.js'

export interface PgConnectionSettings {
  /** Runs on the primary: its writes are reported to the request scope. */
  primary: boolean
  /**
   * Behind a transaction pooler (pgbouncer): session settings do not stick, so the
   * statement timeout is set with `SET LOCAL` in every transaction instead.
   */
  pooled: boolean
  statementTimeoutMs: number
  /** Bounds the cancel request's own socket. */
  cancelTimeoutMs: number
  /** For replicas: where a read goes when this connection breaks under it. */
  fallback?: { source: ConnectionSource, onFailure (error: unknown): void } | undefined
}

const CHANGED_ROWS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE'])

function toQueryResult<R> (result: pg.QueryResult | pg.QueryResult[]): QueryResult<R> {
  // A raw multi-statement query answers one result per statement; the last one counts.
  const last = Array.isArray(result) ? result[result.length - 1] as pg.QueryResult : result
  return {
    numAffectedRows: CHANGED_ROWS.has(last.command) ? BigInt(last.rowCount as number) : undefined,
    rows: last.rows as R[]
  }
}

/** One checked-out pg client, bound to the request (if any) it works for. */
export class PgConnection implements ScopedConnection {
  readonly #client: pg.PoolClient
  readonly #scope: QueryScope | null
  readonly #settings: PgConnectionSettings
  #inTransaction = false
  #broken = false
  // pg emits 'error' on a checked-out client whose socket dies between queries; without a
  // listener that would crash the process.
  readonly #onClientError = () => { this.#broken = true }

  constructor (client: pg.PoolClient, scope: QueryScope | null, settings: PgConnectionSettings) {
    this.#client = client
    this.#scope = scope
    this.#settings = settings
    client.on('error', this.#onClientError)
  }

  async executeQuery<R> (query: CompiledQuery): Promise<QueryResult<R>> {
    const signal = this.#scope?.signal
    if (signal?.aborted) throw cancelledError(signal)
    if (this.#settings.primary) this.#scope?.noteQuery(query)
    try {
      const ownTransaction = this.#settings.pooled && this.#settings.statementTimeoutMs > 0 && !this.#inTransaction
      return toQueryResult<R>(ownTransaction ? await this.#inOwnTransaction(query, signal) : await this.#send(query, signal))
    } catch (error) {
      if (isConnectionError(error)) this.#broken = true
      if (signal?.aborted) throw cancelledError(signal, error)
      const fallback = this.#settings.fallback
      if (fallback !== undefined && this.#broken && !this.#inTransaction && !isWrite(query)) {
        fallback.onFailure(error)
        const other = await fallback.source.acquire(this.#scope)
        try {
          return await other.executeQuery<R>(query)
        } finally {
          other.release()
        }
      }
      throw toClientError(error)
    }
  }

  streamQuery (): never {
    throw new Error('@muejam/db-pool does not stream query results; page with limit and a cursor instead')
  }

  async begin (settings: TransactionSettings): Promise<void> {
    await this.#control(beginStatement(settings) + this.#localTimeout())
    this.#inTransaction = true
  }

  async commit (): Promise<void> {
    // A failed COMMIT ends the transaction too.
    this.#inTransaction = false
    const result = await this.#control('commit') as pg.QueryResult
    // PostgreSQL answers COMMIT with ROLLBACK when an earlier error aborted the transaction.
    if (result.command === 'ROLLBACK') throw new AbortedTransactionError()
  }

  /** Never throws, so the error that caused the rollback is the one the caller sees. */
  async rollback (): Promise<void> {
    this.#inTransaction = false
    try {
      await this.#client.query('rollback')
    } catch {
      this.#broken = true
    }
  }

  /** Called once per checkout by the connection provider (pg-pool refuses a second release). */
  release (): void {
    this.#client.off('error', this.#onClientError)
    // A broken connection, or one left inside a transaction (even one opened with raw
    // SQL), must not be reused: the next caller would inherit the transaction.
    const status = (this.#client as { getTransactionStatus?: () => string | null }).getTransactionStatus?.()
    this.#client.release(this.#broken || this.#inTransaction || (status !== 'I' && status !== null && status !== undefined))
  }

  #localTimeout (): string {
    const ms = this.#settings.statementTimeoutMs
    return this.#settings.pooled && ms > 0 ? `; set local statement_timeout = ${ms}` : ''
  }

  async #control (sql: string): Promise<pg.QueryResult | pg.QueryResult[]> {
    try {
      return await this.#client.query(sql) as pg.QueryResult | pg.QueryResult[]
    } catch (error) {
      if (isConnectionError(error)) this.#broken = true
      throw toClientError(error)
    }
  }

  async #inOwnTransaction (query: CompiledQuery, signal: AbortSignal | undefined) {
    await this.#client.query(`begin${this.#localTimeout()}`)
    let result
    try {
      result = await this.#send(query, signal)
    } catch (error) {
      await this.rollback()
      throw error
    }
    await this.#client.query('commit')
    return result
  }

  async #send (query: CompiledQuery, signal: AbortSignal | undefined): Promise<pg.QueryResult | pg.QueryResult[]> {
    const parameters = query.parameters as unknown[]
    if (signal === undefined) return this.#client.query(query.sql, parameters)
    let cancelling: Promise<void> | undefined
    const onAbort = () => {
      cancelling = sendCancelRequest(this.#client as unknown as CancellableClient, this.#settings.cancelTimeoutMs)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await this.#client.query(query.sql, parameters)
    } finally {
      signal.removeEventListener('abort', onAbort)
      // Wait until the server has the cancel, so it cannot hit the connection's next query.
      if (cancelling !== undefined) await cancelling
    }
  }
}
