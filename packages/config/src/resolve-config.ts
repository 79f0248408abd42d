import { customCleanEnv, EnvMissingError } from 'envalid'
import { checkConsistencyRules } from './consistency-rules.js'
import { ConfigError, type Problem } from './errors.js'
import { readFileSecrets } from './file-secrets.js'
import { checkProductionRules } from './production-rules.js'
import { buildSchema, VARIABLE_NAMES, type VariableName } from './schema.js'
import { fetchSecretValues } from './secrets-manager.js'
import type { Config, ConfigSource, Env } from './types.js'
import { InvalidValue } from './validators.js'

export interface ResolvedConfig {
  values: Config
  sources: Record<VariableName, ConfigSource>
}

/** Empty variables count as unset, as `FOO=` in an env file means "no value". */
function withoutEmpty (env: Env): Record<string, string> {
  const raw: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') raw[name] = value
  }
  return raw
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

function sourcesOf (raw: Record<string, string>): Record<VariableName, ConfigSource> {
  const sources = {} as Record<VariableName, ConfigSource>
  for (const name of VARIABLE_NAMES) sources[name] = name in raw ? 'environment' : 'default'
  return sources
}

/**
 * Defaults → environment → NAME_FILE → AWS Secrets Manager, validated by the schema and,
 * in production, by the production rules. Throws one ConfigError listing every problem.
 */
export async function resolveConfig (env: Env, devSecretKey: string): Promise<ResolvedConfig> {
  const raw = withoutEmpty(env)
  const sources = sourcesOf(raw)
  const schema = buildSchema(devSecretKey)
  const problems: Problem[] = []
  const purposeOf = (name: VariableName) => String(schema[name].desc)

  const files = readFileSecrets(raw, VARIABLE_NAMES)
  problems.push(...files.problems)
  for (const name of files.filled) sources[name] = 'file'

  const secretId = raw.AWS_SECRETS_MANAGER_SECRET_ID
  if (secretId !== undefined) {
    try {
      const values = await fetchSecretValues(env, secretId)
      for (const name of VARIABLE_NAMES) {
        const value = values[name]
        if (value === undefined) continue
        raw[name] = value
        sources[name] = 'aws-secrets-manager'
      }
    } catch (error) {
      problems.push({
        variable: 'AWS_SECRETS_MANAGER_SECRET_ID',
        purpose: purposeOf('AWS_SECRETS_MANAGER_SECRET_ID'),
        problem: `could not be fetched: ${(error as Error).name}: ${(error as Error).message}`,
        fix: 'check the secret id, the region (AWS_REGION), credentials and network access to Secrets Manager'
      })
    }
  }

  // envalid applies devDefault only when NODE_ENV is set explicitly.
  raw.NODE_ENV ??= 'development'
  const production = raw.NODE_ENV === 'production'
  // customCleanEnv without middleware: a plain object, readable even where a value failed.
  const cleaned = customCleanEnv(raw, schema, (env) => env, {
    reporter: ({ errors }) => {
      for (const [name, error] of Object.entries(errors) as Array<[VariableName, Error]>) {
        // Only production leaves variables without a default, so "missing" means production.
        const missing = error instanceof EnvMissingError
        problems.push({
          variable: name,
          purpose: purposeOf(name),
          problem: missing ? 'is not set; production requires it' : error.message,
          fix: (error as InvalidValue).fix ?? schema[name].fix
        })
      }
    }
  })

  const embedded = cleaned.DATABASE_URL === undefined
  const values: Config = {
    ...Object.fromEntries(VARIABLE_NAMES.map((name) => [name, cleaned[name]])) as unknown as Config,
    // Production requires PUBLIC_URL (reported above when missing): no default to mask that.
    PUBLIC_URL: cleaned.PUBLIC_URL ?? (production ? '' : `http://127.0.0.1:${cleaned.PORT}`),
    AUTH_JWKS_URL: cleaned.AUTH_JWKS_URL ?? (cleaned.AUTH_ISSUER ? `${cleaned.AUTH_ISSUER.replace(/\/+$/, '')}/.well-known/jwks.json` : undefined),
    CORS_ORIGINS: cleaned.CORS_ORIGINS ?? cleaned.AUTH_AUTHORIZED_PARTIES,
    MIGRATE_ON_START: cleaned.MIGRATE_ON_START ?? embedded,
    HEALTH_DISK_PATH: cleaned.HEALTH_DISK_PATH ??
      (embedded && !cleaned.DATABASE_EMBEDDED_DIR.startsWith('memory://') ? cleaned.DATABASE_EMBEDDED_DIR : '/')
  }

  const ruled = [...checkConsistencyRules(values), ...production ? checkProductionRules(values) : []]
  for (const problem of ruled) problems.push({ ...problem, purpose: purposeOf(problem.variable as VariableName) })
  if (problems.length > 0) throw new ConfigError(problems)
  return { values: deepFreeze(values), sources }
}
