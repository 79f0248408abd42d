import createError from '@fastify/error'

/** A plugin option is missing, of the wrong type or out of range. */
export const InvalidOptionError = createError(
  'MUEJAM_RATE_LIMIT_INVALID_OPTION',
  'Invalid @muejam/rate-limit option "%s": %s',
  500,
  TypeError
)

/** A route's `config.rateLimit` is not `false` nor a valid override. */
export const InvalidRouteConfigError = createError(
  'MUEJAM_RATE_LIMIT_INVALID_ROUTE_CONFIG',
  'Invalid config.rateLimit on route %s: %s',
  500,
  TypeError
)

/** 429: the caller used up the budget of the current window. Rendered as a problem by the host. */
export class RateLimitedError extends Error {
  readonly statusCode = 429
  readonly code = 'rate_limited'
  readonly headers: Record<string, string>
  readonly extensions: { limit: number, retry_after: number }

  constructor (limit: number, retryAfterS: number) {
    super(`Too many requests: the limit is ${limit} per window; retry in ${retryAfterS} s.`)
    this.name = 'RateLimitedError'
    this.headers = { 'retry-after': String(retryAfterS) }
    this.extensions = { limit, retry_after: retryAfterS }
  }
}

/** 503 in `onStoreError: 'closed'` mode: the shared counter cannot be reached. */
export class RateLimitUnavailableError extends Error {
  readonly statusCode = 503
  readonly code = 'rate_limit_unavailable'
  readonly headers: Record<string, string>
  readonly extensions: { retry_after: number }

  constructor (retryAfterS: number) {
    super(`Rate limiting is temporarily unavailable; retry in ${retryAfterS} s.`)
    this.name = 'RateLimitUnavailableError'
    this.headers = { 'retry-after': String(retryAfterS) }
    this.extensions = { retry_after: retryAfterS }
  }
}

/** Why a store call failed without reaching Redis (kept apart from ioredis' own errors). */
export class StoreUnavailableError extends Error {
  readonly code = 'MUEJAM_RATE_LIMIT_STORE_UNAVAILABLE'

  constructor (message: string) {
    super(message)
    this.name = 'StoreUnavailableError'
  }
}
