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

/** One `pg.Pool` in front of one server, with the connect, idle and statement timeouts. */
export class PgEndpoint implements OwnedDatabase {
  readonly name: string
  readonly pool: pg.Pool
  readonly #primary: boolean
  readonly #options: ResolvedDbPoolOptions
  /** Clients that reach the server through a transaction pooler. */
  readonly #pooled = new WeakSet<pg.ClientBase>()
  #closing: Promise<void> | undefined

  constructor ({ name, primary, endpoint, options, onIdleError }: PgEndpointSettings) {
    this.name = name
    this.#primary = primary
    this.#options = options
    this.pool = new pg.Pool({
      ...connectionSettings(endpoint),
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: options.idleTimeoutMs,
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

  /** A client within `connectTimeoutMs` (queue and connect together), else 503; never a hang. */
  #connect (signal: AbortSignal | undefined): Promise<pg.PoolClient> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal))
    const { connectTimeoutMs, retryAfterSeconds } = this.#options
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
      // Defence in depth: with pg-pool 3.14 its own timers always win this race.
      /* c8 ignore next 4 */
      const timer = setTimeout(() => {
        settle()
        reject(new DbUnavailableError(retryAfterSeconds, { cause: new Error(`no connection to ${this.name} within ${connectTimeoutMs} ms`) }))
      }, connectTimeoutMs)
      const onAbort = () => {
        settle()
        reject(cancelledError(signal as AbortSignal))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      pending.then((client) => {
        if (settled) return client.release()
        settle()
        resolve(client)
      }, (error: unknown) => {
        if (settled) return
        settle()
        reject(new DbUnavailableError(retryAfterSeconds, { cause: error }))
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
