import type { Config, FullSchema } from '@muejam/config'
import { resolve } from 'node:path'
import { DEFAULT_DEV_KEYS_DIR } from './repository-paths.js'
import type { apiSchema } from './schema.js'

/** What a browser app served by a local development server (Vite, webpack, …) sends as its origin. */
export const LOCAL_ORIGINS: readonly string[] = ['http://localhost:*', 'http://127.0.0.1:*']

/** Defaults that depend on other variables, computed once every variable is valid. */
export function deriveApiConfig (config: Config<FullSchema<typeof apiSchema>>) {
  const embedded = config.DATABASE_URL === undefined
  return {
    /** An origin without a trailing slash; outside production (where it is required) `http://127.0.0.1:${PORT}`. */
    PUBLIC_URL: config.PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`,
    /** `${AUTH_ISSUER}/.well-known/jwks.json` when an issuer is set. */
    AUTH_JWKS_URL: config.AUTH_JWKS_URL ?? (config.AUTH_ISSUER ? `${config.AUTH_ISSUER.replace(/\/+$/, '')}/.well-known/jwks.json` : undefined),
    /** Defaults to AUTH_AUTHORIZED_PARTIES, and in development to local front ends on any port too. */
    CORS_ORIGINS: config.CORS_ORIGINS ?? [...(config.NODE_ENV === 'development' ? LOCAL_ORIGINS : []), ...config.AUTH_AUTHORIZED_PARTIES],
    /** An absolute path; `.data/dev-keys` at the repository root by default. */
    DEV_KEYS_DIR: resolve(config.DEV_KEYS_DIR ?? DEFAULT_DEV_KEYS_DIR),
    /** True for the embedded database, false otherwise. */
    MIGRATE_ON_START: config.MIGRATE_ON_START ?? embedded,
    /** The embedded data directory, else `/`. */
    HEALTH_DISK_PATH: config.HEALTH_DISK_PATH ??
      (embedded && !config.DATABASE_EMBEDDED_DIR.startsWith('memory://') ? config.DATABASE_EMBEDDED_DIR : '/')
  }
}
