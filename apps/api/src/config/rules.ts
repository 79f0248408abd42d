import type { LoadedConfig, RuleContext, RuleProblem } from '@muejam/config'
import type { deriveApiConfig } from './derive.js'
import { isHttps } from './production-rules.js'
import type { apiSchema } from './schema.js'

type DerivedApiConfig = LoadedConfig<typeof apiSchema, ReturnType<typeof deriveApiConfig>>

/** Rules between variables, on the derived configuration. */
export function apiConfigRules (c: DerivedApiConfig, { production }: RuleContext): Array<RuleProblem | undefined> {
  return [
    // In production the https:// rule of PUBLIC_URL reports this already.
    !production && c.SECURE_SSL_REDIRECT && !isHttps(c.PUBLIC_URL)
      ? {
          variable: 'PUBLIC_URL',
          problem: 'is http:// while SECURE_SSL_REDIRECT is on; the redirect would send clients back to plain HTTP',
          fix: 'set PUBLIC_URL to the https:// origin clients reach the API at, or SECURE_SSL_REDIRECT=false'
        }
      : undefined,
    // CORS_ORIGINS defaults to AUTH_AUTHORIZED_PARTIES: judged after that default applies.
    production && c.CORS_ORIGINS.includes('*')
      ? { variable: 'CORS_ORIGINS', problem: 'contains *, which lets any web site call the API', fix: 'list your front-end origins' }
      : undefined,
    // A JWKS URL derived from an http:// issuer is already reported through AUTH_ISSUER.
    production && c.AUTH_JWKS_URL !== undefined && !isHttps(c.AUTH_JWKS_URL) && c.AUTH_ISSUER !== undefined && isHttps(c.AUTH_ISSUER)
      ? { variable: 'AUTH_JWKS_URL', problem: 'must be an https:// URL; keys fetched over plain HTTP can be swapped in transit', fix: 'use an https:// address' }
      : undefined
  ]
}
