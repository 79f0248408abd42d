import type { FastifyRequest, RouteOptions } from 'fastify'
import type { Redis } from 'ioredis'
import { MAX_FAILURE_THRESHOLD } from '@muejam/circuit-breaker'
import { createOptionValidators } from '@muejam/problem'
import { InvalidOptionError, InvalidRouteConfigError } from './errors.js'
import { authUserId, type Identify } from './identity.js'
import { POLICY_NAME, type PolicyLimits } from './policy.js'

/** Per-route override, in `config: { rateLimit: {...} }` or returned by `routeLimit`. */
export interface RouteRateLimit {
  /** Requests per window for an anonymous client on this route. Default: the plugin's `max`. */
  max?: number
  /** Requests per window for a signed-in user on this route. Default: the plugin's `maxAuthenticated`. */
  maxAuthenticated?: number
  /** Window length in ms (≥ 1000). Default: the plugin's `windowMs`. */
  windowMs?: number
  /**
   * Policy name: the counter bucket and the name in `RateLimit`/`RateLimit-Policy`. Routes
   * with the same name share one budget. Default: the route's method and URL
   * (`POST /v1/stories`), so each overridden route counts on its own.
   */
  name?: string
}

export interface RateLimitOptions {
  /**
   * Shared store. An ioredis client the host owns (used as is, never closed by the plugin;
   * give it `commandTimeout` ≤ `storeTimeoutMs` and `enableOfflineQueue: false`), or a
   * `redis://`/`rediss://` URL the plugin connects to and quits on close. Unset or empty:
   * an in-process store (one count per process; for development and single instances).
   */
  redis?: Redis | string | null
  /** Requests per window for an anonymous client (per client IP, IPv6 per /64). Default: 100. */
  max?: number
  /** Requests per window for a signed-in user (per identity, see `identify`). Default: 1000. */
  maxAuthenticated?: number
  /**
   * The signed-in caller's identity, e.g. `(request) => request.user?.sub` with `@fastify/jwt`.
   * A non-empty string is counted per user against `maxAuthenticated`; anything else per
   * client IP against `max`. Runs in the limit's onRequest hook, after the instance-level
   * hooks that authenticate. A throw counts as anonymous. Default: `request.auth?.userId`.
   */
  identify?: Identify
  /**
   * Length of the sliding window in ms, at least 1000: no interval of this length ever
   * admits more than the limit. Default: 60000.
   */
  windowMs?: number
  /** When the store fails: `open` lets requests through, `closed` answers 503. Default: `open`. */
  onStoreError?: 'open' | 'closed'
  /** Longest wait for the store per request, in ms. Default: 100. */
  storeTimeoutMs?: number
  /** Longest wait at registration for a `redis` URL to connect, in ms (it keeps trying in the background). Default: 2000. */
  connectTimeoutMs?: number
  /** Requests for which it returns true are neither limited nor counted. Errors count as false. */
  isExempt?: (request: FastifyRequest) => boolean | Promise<boolean>
  /** Prefix of every Redis key. Default: `muejam:rl:`. */
  keyPrefix?: string
  /** Prefix length that identifies an IPv6 client. Default: 64. */
  ipv6Subnet?: number
  /** Name of the plugin-wide policy in the `RateLimit` fields. Default: `default`. */
  policyName?: string
  /**
   * Override for routes that have no `config.rateLimit` of their own, decided once per route
   * at registration (e.g. a stricter budget for every POST). Return `undefined` to keep the
   * plugin-wide limits, `false` to leave the route unlimited.
   */
  routeLimit?: (route: RouteOptions) => RouteRateLimit | false | undefined
  /** `Retry-After` of the 503 in `closed` mode, in seconds. Default: 5. */
  unavailableRetryAfterS?: number
  /** Keys kept by the in-process store (least recently used dropped first), each a log of up to the limit's times. Default: 10000. */
  localCacheSize?: number
  /** Batch commands issued in the same tick into one write (plugin-owned client only). Default: true. */
  autoPipelining?: boolean
  /**
   * Store calls in a row that fail or time out before the circuit breaker opens: then no
   * request waits for Redis, each follows `onStoreError` at once. 1–1000. Default: 5.
   */
  breakerFailureThreshold?: number
  /** How long the open breaker keeps requests off Redis before one probe call, in ms. Default: 5000. */
  breakerCoolOffMs?: number
}

export interface ResolvedOptions extends PolicyLimits {
  redis: Redis | string | null
  onStoreError: 'open' | 'closed'
  storeTimeoutMs: number
  connectTimeoutMs: number
  isExempt: ((request: FastifyRequest) => boolean | Promise<boolean>) | undefined
  identify: Identify
  keyPrefix: string
  ipv6Subnet: number
  policyName: string
  routeLimit: ((route: RouteOptions) => RouteRateLimit | false | undefined) | undefined
  unavailableRetryAfterS: number
  localCacheSize: number
  autoPipelining: boolean
  breakerFailureThreshold: number
  breakerCoolOffMs: number
}

const option = createOptionValidators(InvalidOptionError)

function isRedisClient (value: unknown): value is Redis {
  return typeof value === 'object' && value !== null &&
    typeof (value as Redis).defineCommand === 'function' && typeof (value as Redis).status === 'string'
}

function redisOption (value: unknown): Redis | string | null {
  if (value === undefined || value === null || value === '') return null
  if (typeof value === 'string') {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new InvalidOptionError('redis', 'must be a redis:// or rediss:// URL')
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new InvalidOptionError('redis', 'must be a redis:// or rediss:// URL')
    }
    return value
  }
  if (isRedisClient(value)) return value
  throw new InvalidOptionError('redis', 'must be an ioredis client or a redis:// URL')
}

const MAX_REQUESTS = 1_000_000_000
const MAX_WINDOW_MS = 7 * 24 * 3600 * 1000
const POLICY_NAME_RULES = { pattern: POLICY_NAME, describe: '1–100 printable ASCII characters without " or \\' }

export function resolveOptions (options: RateLimitOptions): ResolvedOptions {
  return {
    redis: redisOption(options.redis),
    max: option.integer('max', options.max, { min: 0, max: MAX_REQUESTS, default: 100 }),
    maxAuthenticated: option.integer('maxAuthenticated', options.maxAuthenticated, { min: 0, max: MAX_REQUESTS, default: 1000 }),
    windowMs: option.milliseconds('windowMs', options.windowMs, { min: 1000, max: MAX_WINDOW_MS, default: 60_000 }),
    onStoreError: option.oneOf('onStoreError', options.onStoreError, ['open', 'closed'], { default: 'open' }),
    storeTimeoutMs: option.milliseconds('storeTimeoutMs', options.storeTimeoutMs, { min: 1, max: 60_000, default: 100 }),
    connectTimeoutMs: option.milliseconds('connectTimeoutMs', options.connectTimeoutMs, { min: 1, max: 60_000, default: 2000 }),
    isExempt: option.func('isExempt', options.isExempt),
    identify: option.func('identify', options.identify, { default: authUserId }),
    keyPrefix: option.string('keyPrefix', options.keyPrefix, { default: 'muejam:rl:' }),
    ipv6Subnet: option.integer('ipv6Subnet', options.ipv6Subnet, { min: 1, max: 128, default: 64 }),
    policyName: option.string('policyName', options.policyName, { ...POLICY_NAME_RULES, default: 'default' }),
    routeLimit: option.func('routeLimit', options.routeLimit),
    unavailableRetryAfterS: option.integer('unavailableRetryAfterS', options.unavailableRetryAfterS, { min: 1, max: 3600, default: 5 }),
    localCacheSize: option.integer('localCacheSize', options.localCacheSize, { min: 1, max: 10_000_000, default: 10_000 }),
    autoPipelining: option.boolean('autoPipelining', options.autoPipelining, { default: true }),
    breakerFailureThreshold: option.integer('breakerFailureThreshold', options.breakerFailureThreshold, { min: 1, max: MAX_FAILURE_THRESHOLD, default: 5 }),
    breakerCoolOffMs: option.milliseconds('breakerCoolOffMs', options.breakerCoolOffMs, { min: 1, max: MAX_WINDOW_MS, default: 5000 })
  }
}

/** The shared validators, throwing the route's InvalidRouteConfigError (`<field> <reason>`). */
function routeValidators (route: string) {
  return createOptionValidators(class extends InvalidRouteConfigError {
    constructor (field: string, reason: string) {
      super(route, `${field} ${reason}`)
    }
  })
}

/** Validates a route override and fills what it leaves out from the plugin-wide limits. */
export function resolveRouteLimit (route: string, value: unknown, defaults: PolicyLimits, defaultName: string): PolicyLimits & { name: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRouteConfigError(route, 'must be false or an object { max?, maxAuthenticated?, windowMs?, name? }')
  }
  const override = value as Record<string, unknown>
  for (const field of Object.keys(override)) {
    if (field !== 'max' && field !== 'maxAuthenticated' && field !== 'windowMs' && field !== 'name') {
      throw new InvalidRouteConfigError(route, `unknown field "${field}"`)
    }
  }
  const field = routeValidators(route)
  return {
    name: field.string('name', override.name, { ...POLICY_NAME_RULES, default: defaultName }),
    max: field.integer('max', override.max, { min: 0, max: MAX_REQUESTS, default: defaults.max }),
    maxAuthenticated: field.integer('maxAuthenticated', override.maxAuthenticated, { min: 0, max: MAX_REQUESTS, default: defaults.maxAuthenticated }),
    windowMs: field.milliseconds('windowMs', override.windowMs, { min: 1000, max: MAX_WINDOW_MS, default: defaults.windowMs })
  }
}
