import { isExampleSecret, type RuleResult } from '@muejam/config'

/** False for an http:// URL; AUTH_ISSUER is kept as given, so its scheme may be in capitals. */
export function isHttps (value: string): boolean {
  return new URL(value).protocol === 'https:'
}

/** URLs reaching the rules have passed the schema, so they parse. */
function urlPassword (value: string): string {
  return decodeURIComponent(new URL(value).password)
}

/** A database or Redis URL whose password was copied from a template or the docker set-up. */
export function noDevelopmentPassword (urls: string | readonly string[]): RuleResult {
  const weak = (typeof urls === 'string' ? [urls] : urls).some((value) => {
    const password = urlPassword(value)
    return password !== '' && isExampleSecret(password)
  })
  return weak ? { problem: 'carries a well-known development password', fix: 'create a role with a generated password and use it here' } : undefined
}

export function httpsOnly (problem: string, fix: string) {
  return (value: string): RuleResult => isHttps(value) ? undefined : { problem, fix }
}
