import type { Problem } from './errors.js'
import type { Config } from './types.js'
import { checkSecret, GENERATE_SECRET_HINT, isExampleSecret } from './validators.js'

export type Rule = (config: Config) => Omit<Problem, 'purpose'> | undefined

/** URLs reaching the rules have passed the schema, so they parse. */
function urlPassword (value: string): string {
  return decodeURIComponent(new URL(value).password)
}

/** False for an http:// URL; AUTH_ISSUER is kept as given, so its scheme may be in capitals. */
export function isHttps (value: string): boolean {
  return new URL(value).protocol === 'https:'
}

function developmentPassword (variable: 'DATABASE_URL' | 'REDIS_URL' | 'DATABASE_REPLICA_URLS', urls: readonly string[]): Omit<Problem, 'purpose'> | undefined {
  const weak = urls.some((value) => {
    const password = urlPassword(value)
    return password !== '' && isExampleSecret(password)
  })
  if (!weak) return undefined
  return { variable, problem: 'carries a well-known development password', fix: 'create a role with a generated password and use it here' }
}

function secretRule (variable: 'SECRET_KEY' | 'METRICS_TOKEN', minLength: number): Rule {
  return (config) => {
    const value = config[variable]
    const problem = value === undefined ? undefined : checkSecret(value, minLength)
    return problem ? { variable, problem, fix: GENERATE_SECRET_HINT } : undefined
  }
}

/**
 * Rules that hold in production only, on top of the schema. Exported so other services can
 * apply the same guard rails to their configuration. Rules read values defensively: they
 * also run over a configuration where some values failed validation.
 */
export const productionRules: readonly Rule[] = [
  (c) => c.LOG_LEVEL === 'debug' || c.LOG_LEVEL === 'trace'
    ? { variable: 'LOG_LEVEL', problem: `is ${c.LOG_LEVEL}; debug and trace may log personal data and slow the server`, fix: 'set LOG_LEVEL=info' }
    : undefined,
  (c) => c.DEBUG
    ? { variable: 'DEBUG', problem: 'is true; it would expose stack traces to clients', fix: 'set DEBUG=false' }
    : undefined,
  (c) => c.SECURE_SSL_REDIRECT
    ? undefined
    : { variable: 'SECURE_SSL_REDIRECT', problem: 'is false; plain HTTP would be served', fix: 'set SECURE_SSL_REDIRECT=true and terminate TLS at your load balancer' },
  secretRule('SECRET_KEY', 50),
  secretRule('METRICS_TOKEN', 32),
  (c) => developmentPassword('DATABASE_URL', c.DATABASE_URL ? [c.DATABASE_URL] : []),
  (c) => developmentPassword('DATABASE_REPLICA_URLS', c.DATABASE_REPLICA_URLS ?? []),
  (c) => developmentPassword('REDIS_URL', c.REDIS_URL ? [c.REDIS_URL] : []),
  (c) => c.CORS_ORIGINS?.includes('*')
    ? { variable: 'CORS_ORIGINS', problem: 'contains *, which lets any web site call the API', fix: 'list your front-end origins' }
    : undefined,
  (c) => c.PUBLIC_URL && !isHttps(c.PUBLIC_URL)
    ? { variable: 'PUBLIC_URL', problem: 'must be an https:// origin in production; clients would be sent to plain HTTP', fix: 'use the https:// address clients reach the API at' }
    : undefined,
  (c) => c.AUTH_ISSUER !== undefined && !isHttps(c.AUTH_ISSUER)
    ? { variable: 'AUTH_ISSUER', problem: 'must be an https:// URL', fix: 'use your issuer\'s https:// address' }
    : undefined,
  // A JWKS URL derived from an http:// issuer is already reported through AUTH_ISSUER.
  (c) => c.AUTH_JWKS_URL !== undefined && !isHttps(c.AUTH_JWKS_URL) && c.AUTH_ISSUER !== undefined && isHttps(c.AUTH_ISSUER)
    ? { variable: 'AUTH_JWKS_URL', problem: 'must be an https:// URL; keys fetched over plain HTTP can be swapped in transit', fix: 'use an https:// address' }
    : undefined
]

export function checkProductionRules (config: Config): Array<Omit<Problem, 'purpose'>> {
  return productionRules.map((rule) => rule(config)).filter((problem) => problem !== undefined)
}
