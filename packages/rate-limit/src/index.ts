import { CircuitBreaker, type BreakerState } from '@muejam/circuit-breaker'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { registerContracts } from './contracts.js'
import { kCounted, Limiter, type RateLimitStats, WarnThrottle } from './limiter.js'
import { createMemoryStore } from './memory-store.js'
import { type RateLimitOptions, resolveOptions, resolveRouteLimit, type RouteRateLimit } from './options.js'
import { compilePolicy, routePolicyName } from './policy.js'
import { connectRedis, waitUntilReady } from './redis-connection.js'
import { createRedisStore } from './redis-store.js'
import type { WindowStore } from './store.js'

export { clientAddress, clientNetwork } from './client-network.js'
export {
  InvalidOptionError, InvalidRouteConfigError, RateLimitedError, RateLimitUnavailableError, StoreUnavailableError
} from './errors.js'
export type { Identify } from './identity.js'
export type { RateLimitStats } from './limiter.js'
export type { RateLimitOptions, RouteRateLimit } from './options.js'

/** What the plugin adds as `app.rateLimit`. */
export interface RateLimitDecorator {
  /** The counters behind the plugin's metrics (plain numbers that only grow). */
  readonly stats: RateLimitStats
  /** Where counts live: `redis` (shared by every instance) or `memory` (this process only). */
  readonly store: 'redis' | 'memory'
  /**
   * The Redis circuit breaker: `closed`, `open` (no request calls Redis, each follows
   * `onStoreError` at once) or `half_open` (the next call is the one probe). `null` for the
   * in-process store, which has none.
   */
  readonly breakerState: BreakerState | null
  /**
   * The plugin-wide limit as an onRequest hook, for requests another hook answers before any
   * route's limit runs, e.g. CORS preflights: add it as an onRequest hook ahead of that one.
   */
  readonly onRequest: onRequestHookHandler
  /**
   * Counts `request` against the plugin-wide budget (per user when `identify` names one,
   * else per client IP) and sets the rate-limit headers on `reply`. Resolves while the budget
   * lasts; rejects with the 429 (`RateLimitedError`), or the 503 in `closed` mode with the
   * store down. For requests refused before any route's limit runs, such as a failed
   * authentication: send its rejection instead of the refusal.
   */
  consume (request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** Resolves when the store answers within `storeTimeoutMs`; rejects otherwise. */
  checkStore (): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimit: RateLimitDecorator
  }
  interface FastifyContextConfig {
    /** Per-route limits, or `false` for a route that is never limited. */
    rateLimit?: RouteRateLimit | false
  }
}

/** `/health*` and `/metrics` are never limited: probes and scrapers must always get through. */
function neverLimited (url: string): boolean {
  return url.startsWith('/health') || url === '/metrics'
}

function addOnRequest (route: RouteOptions, hook: onRequestHookHandler): void {
  const existing = route.onRequest
  if (Array.isArray(existing)) route.onRequest = [...existing, hook]
  else if (typeof existing === 'function') route.onRequest = [existing, hook]
  else route.onRequest = [hook]
}

/** A breaker that logs its changes: a warning when it opens, info when it closes again. */
function storeBreaker (app: FastifyInstance, failureThreshold: number, coolOffMs: number): CircuitBreaker {
  const breaker = new CircuitBreaker({ name: 'rate-limit-redis', failureThreshold, coolOffMs })
  breaker.on('stateChange', ({ from, to, failures }) => {
    if (to === 'open') app.log.warn({ breaker: breaker.name, from, failures, cool_off_ms: coolOffMs }, 'rate-limit Redis circuit breaker open; requests skip the store until a probe succeeds')
    else if (to === 'closed') app.log.info({ breaker: breaker.name, from }, 'rate-limit Redis circuit breaker closed')
  })
  return breaker
}

async function rateLimitPlugin (app: FastifyInstance, rawOptions: RateLimitOptions) {
  const options = resolveOptions(rawOptions)
  let store: WindowStore
  let breaker: CircuitBreaker | null = null
  if (options.redis === null) {
    store = createMemoryStore(options.localCacheSize)
  } else if (typeof options.redis === 'string') {
    const connectionWarnings = new WarnThrottle(app.log)
    const redis = await connectRedis(options.redis, {
      timeoutMs: options.storeTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      autoPipelining: options.autoPipelining,
      onError: (error) => connectionWarnings.warn({ err: { type: error.name, message: error.message } }, 'rate-limit Redis connection error')
    })
    breaker = storeBreaker(app, options.breakerFailureThreshold, options.breakerCoolOffMs)
    store = createRedisStore(redis, { keyPrefix: options.keyPrefix, timeoutMs: options.storeTimeoutMs, owned: true, breaker })
  } else {
    await waitUntilReady(options.redis, options.connectTimeoutMs)
    breaker = storeBreaker(app, options.breakerFailureThreshold, options.breakerCoolOffMs)
    store = createRedisStore(options.redis, { keyPrefix: options.keyPrefix, timeoutMs: options.storeTimeoutMs, owned: false, breaker })
  }
  app.addHook('onClose', async () => { await store.close() })

  const limiter = new Limiter(store, options, app.log)
  const defaultPolicy = compilePolicy(options.policyName, options, store.keyPrefix)
  const defaultHook = limiter.hook(defaultPolicy)

  app.decorateRequest(kCounted, false)
  app.decorate('rateLimit', {
    stats: limiter.stats,
    store: store.kind,
    get breakerState () { return breaker?.state ?? null },
    onRequest: defaultHook,
    consume: (request, reply) => limiter.consume(request, reply, defaultPolicy),
    checkStore: () => store.check()
  } satisfies RateLimitDecorator)

  // Unknown URLs have no route to carry a limit; they are what scanners send.
  app.addHook('onRequest', function rateLimitNotFound (request, reply, done) {
    if (request.is404) defaultHook.call(this, request, reply, done)
    else done()
  })

  app.addHook('onRoute', (route) => {
    if (neverLimited(route.url)) return
    const own = route.config?.rateLimit
    const override = own === undefined ? options.routeLimit?.(route) : own
    if (override === false) return
    if (override === undefined) {
      addOnRequest(route, defaultHook)
      return
    }
    const name = routePolicyName(route.method, route.url)
    const limits = resolveRouteLimit(name, override, options, name)
    addOnRequest(route, limiter.hook(compilePolicy(limits.name, limits, store.keyPrefix)))
  })

  registerContracts(app, store, limiter.stats, breaker)
}

/**
 * Rate limiting for Fastify with a sliding-window log, on Redis or in process: per user
 * (`identify`, by default `request.auth.userId`) or per client IP, limits per route and for
 * unknown URLs, exemptions, legacy and IETF headers, and a store outage that never makes a
 * request wait. Register it after the auth plugin and before the routes it limits.
 */
export const muejamRateLimit = fp(rateLimitPlugin, { name: '@muejam/rate-limit', fastify: '>=5.12.0 <6' })
export default muejamRateLimit
