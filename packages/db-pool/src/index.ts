import type { CheckDetails } from '@muejam/health'
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely, Transaction } from 'kysely'
import type { ConnectionSource, OwnedDatabase, PoolStats } from './connection.js'
import { registerContracts } from './contracts.js'
import { createKysely } from './kysely-factory.js'
import { resolveOptions, type DbPoolOptions } from './options.js'
import { PgEndpoint } from './pg-endpoint.js'
import { ReplicaSet } from './replica-set.js'
import { RequestScope } from './request-scope.js'
import { inTransaction, type TransactionRouteConfig } from './transaction-route.js'

export type { PoolStats } from './connection.js'
export { DbConflictError, DbQueryCancelledError, DbUnavailableError, InvalidOptionError, MissingPeerError } from './errors.js'
export { cancelledError, isConnectionError, isDataException, isRetryableTransactionError, sqlState } from './database-errors.js'
export type { DbEmbeddedOptions, DbEndpointOptions, DbPoolOptions } from './options.js'
export { EMBEDDED_DEFAULT_SETTINGS, type EmbeddedSettings } from './embedded-settings.js'
export type { TransactionRouteConfig, TransactionRouteSettings } from './transaction-route.js'

/**
 * The tables Kysely knows about. Empty here; an application adds its own:
 * `declare module '@muejam/db-pool' { interface DbPoolDatabase extends Database {} }`.
 */
export interface DbPoolDatabase {}

/** `app.dbPool`: gauges and health of every database the plugin owns. */
export interface DbPool {
  /** One entry per pool: `primary`, then `replica-1`, `replica-2`, … */
  stats (): PoolStats[]
  /** Resolves when every pool answers `select 1`; rejects with the first failure. */
  check (): Promise<void>
  /** Replicas currently taking reads (a failed one sits out `replicaRetryMs`). */
  replicasInRotation (): string[]
  /** True when the embedded PGlite database is in use. */
  readonly embedded: boolean
  /**
   * Each server pool's circuit breaker, `{ primary: 'closed', 'replica-1': 'open' }`: `open`
   * while connection attempts keep failing (queries answer 503 at once), `half_open` when the
   * next attempt is the probe. Empty for the embedded database.
   */
  breakers (): Record<string, 'closed' | 'half_open' | 'open'>
  /**
   * Kysely on the readers (replicas, else the primary) whose queries are cancelled when
   * `signal` aborts: for reads shared by several requests, such as batched lookups.
   */
  readerFor (signal: AbortSignal): Kysely<DbPoolDatabase>
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Kysely on the primary. In a request prefer `request.db`, which is cancelled with it. */
    db: Kysely<DbPoolDatabase>
    /** Kysely on a healthy replica (round-robin), else the primary. */
    dbRead: Kysely<DbPoolDatabase>
    dbPool: DbPool
  }
  interface FastifyRequest {
    /** The primary for this request: the open transaction if any; queries stop when `signal` aborts. */
    readonly db: Kysely<DbPoolDatabase>
    /** Reads for this request: a replica, or the primary once the request has written or inside a transaction. */
    readonly dbRead: Kysely<DbPoolDatabase>
    /** The route's transaction when it has `config: { transaction: true }`, else null. */
    tx: Transaction<DbPoolDatabase> | null
  }
  interface FastifyContextConfig {
    /** Run the handler in one transaction (`request.tx`), retried on 40001/40P01. */
    transaction?: TransactionRouteConfig
  }
}

const kScope = Symbol('@muejam/db-pool.scope')

type ScopedRequest = FastifyRequest & { [kScope]: RequestScope<DbPoolDatabase> | null }

async function dbPoolPlugin (app: FastifyInstance, rawOptions: DbPoolOptions) {
  const options = resolveOptions(rawOptions)
  let owned: OwnedDatabase[]
  let primary: ConnectionSource
  let reader: ConnectionSource
  let replicaSet: ReplicaSet | undefined
  let endpoints: PgEndpoint[] = []

  if (options.embedded !== undefined) {
    // Loaded only for the embedded database: PGlite (an optional peer) costs memory a server never needs.
    const { PGliteDatabase } = await import('./pglite-database.js')
    const embedded = new PGliteDatabase({ ...options.embedded, connectTimeoutMs: options.connectTimeoutMs, retryAfterSeconds: options.retryAfterSeconds })
    app.addHook('onReady', () => embedded.ready)
    owned = [embedded]
    primary = reader = embedded
  } else {
    const onIdleError = (error: Error, pool: string) => app.log.warn({ pool, err: error }, 'an idle database connection failed; the pool replaces it')
    const onBreakerChange = ({ pool, from, to, failures }: { pool: string, from: string, to: string, failures: number }) => {
      if (to === 'open') app.log.warn({ pool, from, failures, cool_off_ms: options.breakerCoolOffMs }, 'database circuit breaker open; queries answer 503 at once until a connection attempt succeeds')
      else if (to === 'closed') app.log.info({ pool, from }, 'database circuit breaker closed')
    }
    const settings = { options, onIdleError, onBreakerChange }
    const primaryEndpoint = new PgEndpoint({ name: 'primary', primary: true, endpoint: options.primary as NonNullable<typeof options.primary>, ...settings })
    const replicas = options.replicas.map((endpoint, index) =>
      new PgEndpoint({ name: `replica-${index + 1}`, primary: false, endpoint, ...settings }))
    endpoints = [primaryEndpoint, ...replicas]
    owned = [primaryEndpoint, ...replicas]
    primary = reader = primaryEndpoint
    if (replicas.length > 0) {
      replicaSet = new ReplicaSet({
        replicas,
        primary: primaryEndpoint,
        retryMs: options.replicaRetryMs,
        onReplicaDown: (replica, error) => app.log.warn({ pool: replica, err: error, retry_in_ms: options.replicaRetryMs }, 'read replica left the rotation')
      })
      reader = replicaSet
    }
  }
  app.addHook('onClose', async () => {
    await Promise.all(owned.map((database) => database.close()))
  })

  const db = createKysely<DbPoolDatabase>(primary, null)
  app.decorate('db', db)
  app.decorate('dbRead', reader === primary ? db : createKysely<DbPoolDatabase>(reader, null))

  const check = async () => {
    await Promise.all(owned.map((database) => database.check()))
  }
  const breakers = () => Object.fromEntries(endpoints.map((endpoint) => [endpoint.name, endpoint.breaker.state]))
  // For @muejam/health: the primary must answer (else unhealthy); a failing replica only
  // degrades, since reads fall back to the primary — failing readiness for it would pull
  // every instance out of the load balancer over one replica. The pools' breakers are in the
  // details, so the check answers rather than throws when the primary fails.
  const healthCheck = async (signal: AbortSignal): Promise<CheckDetails | undefined> => {
    const results = await Promise.allSettled(owned.map((database) => database.check(signal)))
    const [primaryResult] = results
    const failing = owned.filter((_, index) => results[index]?.status === 'rejected').map((database) => database.name)
    const details = endpoints.length === 0 ? {} : { breakers: breakers() }
    if (primaryResult?.status === 'rejected') {
      if (endpoints.length === 0 || signal.aborted) throw primaryResult.reason
      return { status: 'unhealthy', failing_pools: failing, ...details }
    }
    if (failing.length > 0) return { status: 'degraded', failing_pools: failing, ...details }
    return endpoints.length === 0 ? undefined : details
  }
  const stats = () => owned.map((database) => database.stats())
  app.decorate('dbPool', {
    stats,
    check,
    replicasInRotation: () => replicaSet?.inRotation() ?? [],
    embedded: options.embedded !== undefined,
    breakers,
    readerFor: (signal) => createKysely<DbPoolDatabase>(reader, { signal, noteQuery: () => {} })
  } satisfies DbPool)

  const sources = { primary, reader }
  const scopeOf = (request: FastifyRequest): RequestScope<DbPoolDatabase> => {
    const scoped = request as ScopedRequest
    scoped[kScope] ??= new RequestScope(request, sources)
    return scoped[kScope]
  }
  app.decorateRequest(kScope, null)
  app.decorateRequest('tx', null)
  app.decorateRequest('db', {
    getter (this: FastifyRequest) {
      return this.tx ?? scopeOf(this).db
    }
  })
  app.decorateRequest('dbRead', {
    getter (this: FastifyRequest) {
      return this.tx ?? scopeOf(this).dbRead
    }
  })

  app.addHook('onRoute', (route) => {
    const config = route.config?.transaction
    if (config === undefined || config === false) return
    route.handler = inTransaction(route.handler as RouteHandlerMethod, config, {
      retries: options.transactionRetries,
      dbOf: (request) => scopeOf(request).db,
      setTransaction: (request, transaction) => { request.tx = transaction }
    })
  })

  registerContracts(app, {
    healthCheck: options.healthCheck ? healthCheck : null,
    stats,
    breakers: () => endpoints.map((endpoint) => ({ pool: endpoint.name, value: endpoint.breaker.stateValue }))
  })
}

/** PostgreSQL pools with Kysely: replicas, transactions, statement timeouts, cancellation, embedded PGlite. */
export const muejamDbPool = fp(dbPoolPlugin, { name: '@muejam/db-pool', fastify: '>=5.12.0 <6' })
export default muejamDbPool
