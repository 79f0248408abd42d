/** One tier (anonymous or signed-in) of a policy, with its header values computed once. */
export interface Tier {
  max: number
  /** `X-RateLimit-Limit`. */
  limit: string
  /** `RateLimit-Policy`, e.g. `"default";q=100;w=60`. */
  policy: string
}

/** The limits that apply to one route (or to every route without an override). */
export interface Policy {
  name: string
  /** Start of an anonymous client's store key, e.g. `muejam:rl:default:ip:`. */
  ipKeyPrefix: string
  /** Start of a signed-in caller's store key, e.g. `muejam:rl:default:user:`. */
  userKeyPrefix: string
  windowMs: number
  anonymous: Tier
  authenticated: Tier
  /** Start of the `RateLimit` field, e.g. `"default";r=`. */
  fieldPrefix: string
}

export interface PolicyLimits {
  max: number
  maxAuthenticated: number
  windowMs: number
}

/** A structured-field sf-string body: printable ASCII without `"` and `\`. */
export const POLICY_NAME = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}$/

/** Makes a name out of a route (`POST /v1/stories`) that is safe inside an sf-string. */
export function routePolicyName (method: string | string[], url: string): string {
  const methods = Array.isArray(method) ? method.join(',') : method
  return `${methods} ${url}`.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '_').slice(0, 100)
}

function tier (name: string, max: number, windowMs: number): Tier {
  // RateLimit-Policy's w is whole seconds; windows are validated to be at least 1 s.
  return { max, limit: String(max), policy: `"${name}";q=${max};w=${Math.ceil(windowMs / 1000)}` }
}

/** The policy `name` with its header values and key prefixes computed once; `keyPrefix` is the store's. */
export function compilePolicy (name: string, { max, maxAuthenticated, windowMs }: PolicyLimits, keyPrefix: string): Policy {
  return {
    name,
    ipKeyPrefix: `${keyPrefix}${name}:ip:`,
    userKeyPrefix: `${keyPrefix}${name}:user:`,
    windowMs,
    anonymous: tier(name, max, windowMs),
    authenticated: tier(name, maxAuthenticated, windowMs),
    fieldPrefix: `"${name}";r=`
  }
}
