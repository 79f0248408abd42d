import type { FastifyInstance } from 'fastify'
import config, { ConfigError, integer, loadConfig, oneOf, port, string, url, type LoadedConfig } from '@muejam/config'

/** Every variable the service reads: what it is for, its default, how it is checked. */
export const schema = {
  HOST: string({ description: 'address the server listens on', default: '127.0.0.1' }),
  PORT: port({ description: 'port the server listens on', default: 3000 }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'silent'], { description: 'least severe log level written', default: 'info' }),
  DATABASE_URL: url({ description: 'PostgreSQL database of the notes', protocols: ['postgres:', 'postgresql:'], secret: true }),
  REDIS_URL: url({ description: 'Redis the rate limits are counted in', protocols: ['redis:', 'rediss:'] }),
  OIDC_ISSUER: string({ description: 'issuer of the access tokens, compared exactly with iss' }),
  OIDC_AUDIENCE: string({ description: 'audience the access tokens are issued for (aud)' }),
  OIDC_JWKS_URL: url({ description: 'where the issuer publishes its keys', default: undefined }),
  RATE_LIMIT_MAX: integer({ description: 'requests per minute from one anonymous client IP', min: 1, default: 60 }),
  RATE_LIMIT_MAX_USER: integer({ description: 'requests per minute from one signed-in user', min: 1, default: 600 }),
  RATE_LIMIT_KEY_PREFIX: string({ description: 'prefix of the rate limit keys in Redis', default: 'notes:rl:' }),
  REQUEST_TIMEOUT_MS: integer({ description: 'deadline of a request, in milliseconds', min: 100, max: 120_000, default: 10_000 })
}

export type ServiceConfig = LoadedConfig<typeof schema>

declare module '@muejam/config' {
  interface ConfigTypes extends ServiceConfig {}
}

/** Reads the configuration, or stops the process with every problem listed and exit code 78. */
export async function loadServiceConfig (env: NodeJS.ProcessEnv = process.env) {
  try {
    return await loadConfig({ env, schema })
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(error.exitCode)
    }
    throw error
  }
}

export type ServiceConfigStore = Awaited<ReturnType<typeof loadServiceConfig>>

/** `app.config`: the loaded values, typed from the schema. */
export async function registerConfig (app: FastifyInstance, store: ServiceConfigStore) {
  await app.register(config, { store })
}
