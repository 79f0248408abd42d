import type { Problem } from './errors.js'
import { isHttps, type Rule } from './production-rules.js'
import type { Config } from './types.js'

/** Rules between variables that hold in every environment. */
export const consistencyRules: readonly Rule[] = [
  // In production the https:// rule of PUBLIC_URL reports this already.
  (c) => c.NODE_ENV !== 'production' && c.SECURE_SSL_REDIRECT && c.PUBLIC_URL && !isHttps(c.PUBLIC_URL)
    ? {
        variable: 'PUBLIC_URL',
        problem: 'is http:// while SECURE_SSL_REDIRECT is on; the redirect would send clients back to plain HTTP',
        fix: 'set PUBLIC_URL to the https:// origin clients reach the API at, or SECURE_SSL_REDIRECT=false'
      }
    : undefined
]

export function checkConsistencyRules (config: Config): Array<Omit<Problem, 'purpose'>> {
  return consistencyRules.map((rule) => rule(config)).filter((problem) => problem !== undefined)
}
