import { MAX_FAILURE_THRESHOLD } from '@muejam/circuit-breaker'
import { createOptionValidators } from '@muejam/problem'
import { resolveEmbeddedSettings, type EmbeddedSettings } from './embedded-settings.js'
import { InvalidOptionError } from './errors.js'

/** One PostgreSQL server (the primary or a replica). */
export interface DbEndpointOptions {
  /** `postgres://` or `postgresql://` URL. Its password is ignored when `password` is given. */
  connectionString: string
  /**
   * Called for every new connection, so a rotated secret is used without a restart while
   * open connections finish their work. Default: the password in `connectionString`.
   */
  password?: () => string | Promise<string>
}

/** Embedded PGlite instead of a server (development and tests). */
export interface DbEmbeddedOptions {
  /** Data directory (created when missing), or `memory://` for a throwaway database. */
  dataDir: string
  /**
   * PostgreSQL settings given at every start (`-c name=value`, never written to the data
   * directory), over the defaults `{ shared_buffers: '16MB' }`. Default: the defaults.
   */
  settings?: EmbeddedSettings
  /**
   * Let V8 optimize PGlite's WebAssembly (tier up from its baseline compiler to TurboFan).
   * `false` sets V8's `--liftoff-only` for the whole process before PGlite loads: about 70 MB
   * less resident memory and initdb twice as fast. Default: false. Node.js 24 ignores V8 flags
   * set after start: there, run the process with `node --liftoff-only`.
   */
  wasmTierUp?: boolean
}

export interface ResolvedDbEmbeddedOptions {
  dataDir: string
  settings: Record<string, string>
  wasmTierUp: boolean
}

export interface DbPoolOptions {
  /** The primary database. Exactly one of `primary` and `embedded` is required. */
  primary?: DbEndpointOptions
  /** Read replicas, used round-robin by `dbRead` while healthy. Default: none. */
  replicas?: DbEndpointOptions[]
  /** Use an embedded PGlite database instead of `primary`. */
  embedded?: DbEmbeddedOptions
  /** Connections per pool (the primary and each replica). Default: 20. */
  poolMax?: number
  /** Longest wait for a connection, pool queue and connect together, in ms. Default: 5000. */
  connectTimeoutMs?: number
  /** How long an idle connection stays open, in ms (0: until closed). Default: 30000. */
  idleTimeoutMs?: number
  /** Server-side statement timeout in ms (0: none). Default: 30000. */
  statementTimeoutMs?: number
  /** How long a failed replica stays out of rotation before it is tried again, in ms. Default: 5000. */
  replicaRetryMs?: number
  /** Extra attempts for a `transaction: true` route after 40001/40P01. Default: 3. */
  transactionRetries?: number
  /** `Retry-After` of a 503 `db_unavailable`, in seconds. Default: 1. */
  retryAfterSeconds?: number
  /** `application_name` of every connection (shows in `pg_stat_activity`). Default: none. */
  applicationName?: string
  /** Register a `database` check with `app.health` when it exists. Default: true. */
  healthCheck?: boolean
  /**
   * Longest life of a server connection, in ms (0: no limit). An older connection is closed
   * when it is next idle, never during a query or a transaction, so connections move to a new
   * server after a failover or a DNS change. Default: 600000.
   */
  maxLifetimeMs?: number
  /**
   * Connection attempts in a row that fail (per pool) before its circuit breaker opens: then
   * every query on that pool answers 503 `db_unavailable` at once, `Retry-After` the cool-off
   * left, instead of waiting `connectTimeoutMs`. 1–1000. Default: 5.
   */
  breakerFailureThreshold?: number
  /** How long an open breaker refuses before it lets one connection attempt through, in ms. Default: 5000. */
  breakerCoolOffMs?: number
}

export interface ResolvedDbPoolOptions {
  primary: DbEndpointOptions | undefined
  replicas: DbEndpointOptions[]
  embedded: ResolvedDbEmbeddedOptions | undefined
  poolMax: number
  connectTimeoutMs: number
  idleTimeoutMs: number
  statementTimeoutMs: number
  replicaRetryMs: number
  transactionRetries: number
  retryAfterSeconds: number
  applicationName: string | undefined
  healthCheck: boolean
  maxLifetimeMs: number
  breakerFailureThreshold: number
  breakerCoolOffMs: number
}

const option = createOptionValidators(InvalidOptionError)

// Messages name the option, never the URL: it may carry a password.
function endpoint (name: string, value: unknown): DbEndpointOptions {
  if (value === null || typeof value !== 'object') throw new InvalidOptionError(name, 'must be an object with a connectionString')
  const { connectionString, password } = value as Partial<DbEndpointOptions>
  let url: URL | undefined
  try {
    url = typeof connectionString === 'string' ? new URL(connectionString) : undefined
  } catch {}
  if (url === undefined || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    throw new InvalidOptionError(`${name}.connectionString`, 'must be a postgres:// or postgresql:// URL')
  }
  if (password !== undefined && typeof password !== 'function') {
    throw new InvalidOptionError(`${name}.password`, 'must be a function that returns the password')
  }
  return { connectionString: connectionString as string, ...(password ? { password } : {}) }
}

/** Applies defaults and fails fast, with a coded error, on anything unusable. */
export function resolveOptions (options: DbPoolOptions): ResolvedDbPoolOptions {
  const { primary, replicas = [], embedded } = options
  if ((primary === undefined) === (embedded === undefined)) {
    throw new InvalidOptionError('primary', 'exactly one of primary and embedded is required')
  }
  if (!Array.isArray(replicas)) throw new InvalidOptionError('replicas', 'must be an array')
  if (embedded !== undefined) {
    if (embedded === null || typeof embedded.dataDir !== 'string' || embedded.dataDir === '') {
      throw new InvalidOptionError('embedded.dataDir', 'must be a directory or memory://')
    }
    if (replicas.length > 0) throw new InvalidOptionError('replicas', 'cannot be combined with an embedded database')
  }
  return {
    primary: primary === undefined ? undefined : endpoint('primary', primary),
    replicas: replicas.map((replica, index) => endpoint(`replicas[${index}]`, replica)),
    embedded: embedded === undefined
      ? undefined
      : {
          dataDir: embedded.dataDir,
          settings: resolveEmbeddedSettings(embedded.settings),
          wasmTierUp: option.boolean('embedded.wasmTierUp', embedded.wasmTierUp, { default: false })
        },
    poolMax: option.integer('poolMax', options.poolMax, { min: 1, max: 10_000, default: 20 }),
    connectTimeoutMs: option.milliseconds('connectTimeoutMs', options.connectTimeoutMs, { min: 1, default: 5000 }),
    idleTimeoutMs: option.milliseconds('idleTimeoutMs', options.idleTimeoutMs, { default: 30_000 }),
    statementTimeoutMs: option.milliseconds('statementTimeoutMs', options.statementTimeoutMs, { default: 30_000 }),
    replicaRetryMs: option.milliseconds('replicaRetryMs', options.replicaRetryMs, { default: 5000 }),
    transactionRetries: option.integer('transactionRetries', options.transactionRetries, { max: 10, default: 3 }),
    retryAfterSeconds: option.integer('retryAfterSeconds', options.retryAfterSeconds, { min: 1, max: 3600, default: 1 }),
    applicationName: option.string('applicationName', options.applicationName),
    healthCheck: option.boolean('healthCheck', options.healthCheck, { default: true }),
    maxLifetimeMs: option.milliseconds('maxLifetimeMs', options.maxLifetimeMs, { default: 600_000 }),
    breakerFailureThreshold: option.integer('breakerFailureThreshold', options.breakerFailureThreshold, { min: 1, max: MAX_FAILURE_THRESHOLD, default: 5 }),
    breakerCoolOffMs: option.milliseconds('breakerCoolOffMs', options.breakerCoolOffMs, { min: 1, default: 5000 })
  }
}
