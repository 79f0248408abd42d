import type { CleanedEnv } from 'envalid'
import type { Schema } from './schema.js'

type Cleaned = Omit<CleanedEnv<Schema>, 'isDevelopment' | 'isDev' | 'isTest' | 'isProduction' | 'isProd'>

/** The validated configuration; fields are named after their environment variables. */
export type Config = Readonly<Omit<Cleaned, 'CORS_ORIGINS' | 'MIGRATE_ON_START' | 'HEALTH_DISK_PATH' | 'AUTH_JWKS_URL' | 'PUBLIC_URL'> & {
  /** An origin without a trailing slash; outside production defaults to `http://127.0.0.1:${PORT}`. */
  PUBLIC_URL: string
  /** Defaults to AUTH_AUTHORIZED_PARTIES. */
  CORS_ORIGINS: readonly string[]
  /** Defaults to true for the embedded database, false otherwise. */
  MIGRATE_ON_START: boolean
  /** Defaults to the embedded data directory, else `/`. */
  HEALTH_DISK_PATH: string
  /** Defaults to `${AUTH_ISSUER}/.well-known/jwks.json` when an issuer is set. */
  AUTH_JWKS_URL: string | undefined
}>

/** Where a variable's value came from. */
export type ConfigSource = 'default' | 'environment' | 'file' | 'aws-secrets-manager'

export type Env = Readonly<Record<string, string | undefined>>
