import type { Config } from '../config/index.js'
import type { DbPoolOptions } from '@muejam/db-pool'

function passwordOf (url: string | undefined): string {
  return url === undefined ? '' : decodeURIComponent(new URL(url).password)
}

/**
 * The db-pool options from the configuration. Passwords are read from the live
 * configuration for each new connection, so a secret rotated in Secrets Manager is used
 * without a restart.
 */
export function dbPoolOptions (config: Config): DbPoolOptions {
  const common = {
    poolMax: config.DB_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: config.DB_IDLE_TIMEOUT_MS,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    maxLifetimeMs: config.DB_MAX_LIFETIME_MS,
    applicationName: 'muejam-api'
  }
  if (config.DATABASE_URL === undefined) return { ...common, embedded: { dataDir: config.DATABASE_EMBEDDED_DIR } }
  return {
    ...common,
    primary: { connectionString: config.DATABASE_URL, password: () => passwordOf(config.DATABASE_URL) },
    replicas: config.DATABASE_REPLICA_URLS.map((connectionString, index) => ({
      connectionString,
      password: () => passwordOf(config.DATABASE_REPLICA_URLS[index] ?? connectionString)
    }))
  }
}
