import createError from '@fastify/error'
import { createOptionError, createProblemError } from '@muejam/problem'

/** A plugin option is missing, of the wrong type or out of range. */
export const InvalidOptionError = createOptionError('@muejam/rate-limit')

/** A route's `config.rateLimit` is not `false` nor a valid override. */
export const InvalidRouteConfigError = createError<[route: string, reason: string]>(
  'MUEJAM_RATE_LIMIT_INVALID_ROUTE_CONFIG',
  'Invalid config.rateLimit on route %s: %s',
  500,
  TypeError
)

/** 429: the trailing window holds the whole budget. Rendered as a problem by the host. */
export const RateLimitedError = createProblemError({
  code: 'rate_limited',
  statusCode: 429,
  message: (limit: number, retryAfterS: number) => `Too many requests: the limit is ${limit} per window; retry in ${retryAfterS} s.`,
  headers: (_limit, retryAfterS) => ({ 'retry-after': String(retryAfterS) }),
  extensions: (limit, retryAfterS) => ({ limit, retry_after: retryAfterS })
})

/** 503 in `onStoreError: 'closed'` mode: the shared log cannot be reached. */
export const RateLimitUnavailableError = createProblemError({
  code: 'rate_limit_unavailable',
  statusCode: 503,
  message: (retryAfterS: number) => `Rate limiting is temporarily unavailable; retry in ${retryAfterS} s.`,
  headers: (retryAfterS) => ({ 'retry-after': String(retryAfterS) }),
  extensions: (retryAfterS) => ({ retry_after: retryAfterS })
})

/** Why a store call failed without reaching Redis (kept apart from ioredis' own errors). */
export class StoreUnavailableError extends Error {
  readonly code = 'MUEJAM_RATE_LIMIT_STORE_UNAVAILABLE'

  constructor (message: string) {
    super(message)
    this.name = 'StoreUnavailableError'
  }
}
