import { type BreakerState, CircuitBreaker, REJECTED } from '@muejam/circuit-breaker'
import pg from 'pg'
import { parse } from 'pg-connection-string'
import type { CancellableClient } from './cancel-request.js'
import { checkSource, type OwnedDatabase, type PoolStats, type QueryScope } from './connection.js'
import { cancelledError } from './database-errors.js'
import { DbUnavailableError } from './errors.js'
import type { DbEndpointOptions, ResolvedDbPoolOptions } from './options.js'
import { PgConnection, type PgConnectionSettings } from './pg-connection.js'

export interface PgEndpointSettings {
  /** `primary`, `replica-1`, … */
  name: string
  primary: boolean
  endpoint: DbEndpointOptions
  options: ResolvedDbPoolOptions
  /** An idle connection failed (server restart, network); the pool replaces it. */
  onIdleError (error: Error, pool: string): void
  /** The pool's circuit breaker changed state. */
  onBreakerChange (change: { pool: string, from: BreakerState, to: BreakerState, failures: number }): void
}

/**
 * Connection settings from the URL. With a password function the URL's password is left
 * out: node-postgres lets a connection string override every other setting, the function
 * included, so the string is parsed here instead of being handed over.
 */
function connectionSettings ({ connectionString, password }: DbEndpointOptions): pg.PoolConfig {
  if (password === undefined) return { connectionString }
  const { password: _ignored, ...parsed } = parse(connectionString)
  const settings: Record<string, unknown> = { password }
  for (const [key, value] of Object.entries(parsed)) {
    // A URL without a port or host leaves them null; node-postgres then uses its defaults.
    if (value !== null && value !== undefined) settings[key] = value
  }
  return settings as pg.PoolConfig
}

/**
 * One `pg.Pool` in front of one server, with the connect, idle and statement timeouts, a
 * maximum connection lifetime, and a circuit breaker on getting a connection.
 */
export class PgEndpoint implements OwnedDatabase {
  readonly name: string
  readonly pool: pg.Pool
  /**
   * Opens after a run of failed connection attempts; while open, callers get 503 at once
   * instead of each waiting `connectTimeoutMs` for a server that is not there.
   */
  readonly breaker: CircuitBreaker
  readonly #primary: boolean
  readonly #options: ResolvedDbPoolOptions
  /** Clients that reach the server through a transaction pooler. */
  readonly #pooled = new WeakSet<pg.ClientBase>()
  #closing: Promise<void> | undefined

  constructor ({ name, primary, endpoint, options, onIdleError, onBreakerChange }: PgEndpointSettings) {
    this.name = name
    this.#primary = primary
    this.#options = options
    this.breaker = new CircuitBreaker({ name, failureThreshold: options.breakerFailureThreshold, coolOffMs: options.breakerCoolOffMs })
    this.breaker.on('stateChange', ({ from, to, failures }) => onBreakerChange({ pool: name, from, to, failures }))
    this.pool = new pg.Pool({
      ...connectionSettings(endpoint),
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: options.idleTimeoutMs,
      // pg-pool marks an old connection and closes it once idle: never under a query.
      maxLifetimeSeconds: options.maxLifetimeMs / 1000,
      keepAlive: true,
      ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
      onConnect: (client) => this.#prepare(client)
    })
    this.pool.on('error', (error) => onIdleError(error, name))
  }

  /**
   * Runs once per new connection. A transaction pooler answers with a process id of its
   * own, not the server's: then the statement timeout is set in every transaction (a
   * session SET would land on whichever server connection happens to serve it, and the
   * `options` startup parameter is refused); otherwise once, for the whole session.
   */
  async #prepare (client: pg.ClientBase): Promise<void> {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
    const pooled = rows[0]?.pid !== (client as unknown as CancellableClient).processID
    if (pooled) this.#pooled.add(client)
    const ms = this.#options.statementTimeoutMs
    if (!pooled && ms > 0) await client.query(`set statement_timeout = ${ms}`)
  }

  /** True when a caller would have to queue for a connection. */
  get saturated (): boolean {
    return this.pool.totalCount >= this.#options.poolMax && this.pool.idleCount === 0
  }

  async acquire (scope: QueryScope | null, fallback?: PgConnectionSettings['fallback']): Promise<PgConnection> {
    const client = await this.#connect(scope?.signal)
    return new PgConnection(client, scope, {
      primary: this.#primary,
      pooled: this.#pooled.has(client),
      statementTimeoutMs: this.#options.statementTimeoutMs,
      cancelTimeoutMs: this.#options.connectTimeoutMs,
      fallback
    })
  }

  /**
   * A client within `connectTimeoutMs` (queue and connect together), else 503; never a hang.
   * While the breaker is open, 503 at once. A failure counts towards opening it only when the
   * pool had room, so the attempt was a new connection: a caller that queued behind busy
   * connections and timed out says the database is slow, not gone.
   */
  #connect (signal: AbortSignal | undefined): Promise<pg.PoolClient> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal))
    const { connectTimeoutMs, retryAfterSeconds } = this.#options
    const permit = this.breaker.permit()
    if (permit === REJECTED) {
      const retryAfterMs = this.breaker.retryAfterMs()
      return Promise.reject(new DbUnavailableError(Math.max(1, Math.ceil(retryAfterMs / 1000)), {
        cause: new Error(`circuit breaker of ${this.name} is open: no connection attempt for ${retryAfterMs} ms`)
      }))
    }
    const queued = this.saturated
    return new Promise((resolve, reject) => {
      let settled = false
      // pg-pool's own timer (same length, armed first inside connect()) normally fires first
      // and removes the waiter from its queue; this one bounds a queued caller who then has
      // to open a new connection.
      const pending = this.pool.connect()
      const settle = () => {
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const fail = (error: unknown) => {
        if (!queued) this.breaker.failed(permit)
        reject(new DbUnavailableError(retryAfterSeconds, { cause: error }))
      }
      // Defence in depth: with pg-pool 3.14 its own timers always win this race.
      /* c8 ignore next 4 */
      const timer = setTimeout(() => {
        settle()
        fail(new Error(`no connection to ${this.name} within ${connectTimeoutMs} ms`))
      }, connectTimeoutMs)
      const onAbort = () => {
        settle()
        reject(cancelledError(signal as AbortSignal))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      pending.then((client) => {
        if (settled) return client.release()
        settle()
        this.breaker.succeeded(permit)
        resolve(client)
      }, (error: unknown) => {
        if (settled) return
        settle()
        fail(error)
      })
    })
  }

  stats (): PoolStats {
    return { pool: this.name, total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  check (signal?: AbortSignal): Promise<void> {
    return checkSource(this, signal)
  }

  close (): Promise<void> {
    this.#closing ??= this.pool.end()
    return this.#closing
  }
}
