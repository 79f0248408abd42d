import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify'
import { clientAddress } from './client-network.js'
import { RateLimitedError, RateLimitUnavailableError } from './errors.js'
import { userIdOf } from './identity.js'
import type { ResolvedOptions } from './options.js'
import type { Policy, Tier } from './policy.js'
import type { WindowStore } from './store.js'

/** Counters behind the plugin's metrics; plain numbers that only grow. */
export interface RateLimitStats {
  /** Requests answered 429. */
  refused: number
  /**
   * Store calls that failed or timed out, and those the open circuit breaker kept off Redis
   * (each one a request let through or answered 503).
   */
  storeErrors: number
}

export const WARN_INTERVAL_MS = 10_000

/** Logs a warning at most once per interval, saying how many were held back meanwhile. */
export class WarnThrottle {
  private last = -Infinity
  private held = 0

  constructor (private readonly log: FastifyBaseLogger, private readonly intervalMs = WARN_INTERVAL_MS) {}

  warn (details: Record<string, unknown>, message: string): void {
    const now = Date.now()
    if (now - this.last < this.intervalMs) {
      this.held++
      return
    }
    this.last = now
    this.log.warn({ ...details, suppressed: this.held }, message)
    this.held = 0
  }
}

function errorDetails (error: unknown) {
  const { name, message } = error as Error
  return { err: { type: name, message } }
}

/** Set on a request once it has been counted (or found exempt), so nothing counts it twice. */
export const kCounted = Symbol('muejam.rateLimit.counted')
type CountedRequest = FastifyRequest & { [kCounted]: boolean }

/** The per-request work: one store call (one round trip), five headers, and a 429 or 503 when due. */
export class Limiter {
  readonly stats: RateLimitStats = { refused: 0, storeErrors: 0 }
  private failing = false
  private readonly storeWarnings: WarnThrottle
  private readonly exemptWarnings: WarnThrottle
  private readonly identifyWarnings: WarnThrottle
  private readonly unavailable: boolean
  private readonly isExempt: ResolvedOptions['isExempt']
  private readonly identify: ResolvedOptions['identify']
  private readonly ipv6Subnet: number
  private readonly retryAfterS: number

  constructor (private readonly store: WindowStore, options: ResolvedOptions, private readonly log: FastifyBaseLogger) {
    this.storeWarnings = new WarnThrottle(log)
    this.exemptWarnings = new WarnThrottle(log)
    this.identifyWarnings = new WarnThrottle(log)
    this.unavailable = options.onStoreError === 'closed'
    this.isExempt = options.isExempt
    this.identify = options.identify
    this.ipv6Subnet = options.ipv6Subnet
    this.retryAfterS = options.unavailableRetryAfterS
  }

  /** An onRequest hook enforcing `policy`; built once per route. */
  hook (policy: Policy): onRequestHookHandler {
    const limiter = this
    return function rateLimitOnRequest (request, reply, done) {
      limiter.limit(request, reply, policy, done)
    }
  }

  /** `policy` as a promise: resolves when the request may go on, rejects with the 429 or 503. */
  consume (request: FastifyRequest, reply: FastifyReply, policy: Policy): Promise<void> {
    return new Promise((resolve, reject) => {
      this.limit(request, reply, policy, (error?: Error) => {
        if (error === undefined) resolve()
        else reject(error)
      })
    })
  }

  private limit (request: FastifyRequest, reply: FastifyReply, policy: Policy, done: HookHandlerDoneFunction): void {
    if ((request as CountedRequest)[kCounted]) {
      done()
      return
    }
    (request as CountedRequest)[kCounted] = true
    if (this.isExempt === undefined) {
      this.count(request, reply, policy, done)
    } else {
      this.exemptThenCount(request, reply, policy, done)
    }
  }

  private exemptThenCount (request: FastifyRequest, reply: FastifyReply, policy: Policy, done: HookHandlerDoneFunction): void {
    let exempt: boolean | Promise<boolean>
    try {
      exempt = (this.isExempt as NonNullable<ResolvedOptions['isExempt']>)(request)
    } catch (error) {
      this.exemptFailed(error)
      this.count(request, reply, policy, done)
      return
    }
    if (exempt === true) {
      done()
    } else if (exempt === false) {
      this.count(request, reply, policy, done)
    } else {
      Promise.resolve(exempt).then((isExempt) => {
        if (isExempt === true) done()
        else this.count(request, reply, policy, done)
      }, (error: unknown) => {
        this.exemptFailed(error)
        this.count(request, reply, policy, done)
      })
    }
  }

  private exemptFailed (error: unknown): void {
    this.exemptWarnings.warn(errorDetails(error), 'rate-limit exemption check failed; the request is limited as usual')
  }

  /** The signed-in caller's id, or undefined; a throwing identify function means anonymous. */
  private userOf (request: FastifyRequest): string | undefined {
    try {
      return userIdOf(this.identify(request))
    } catch (error) {
      this.identifyWarnings.warn(errorDetails(error), 'rate-limit identify failed; the request is counted by its client IP')
      return undefined
    }
  }

  private count (request: FastifyRequest, reply: FastifyReply, policy: Policy, done: HookHandlerDoneFunction): void {
    const userId = this.userOf(request)
    let tier: Tier
    let key: string
    if (userId === undefined) {
      tier = policy.anonymous
      key = policy.ipKeyPrefix + clientAddress(request.ip, this.ipv6Subnet)
    } else {
      tier = policy.authenticated
      key = policy.userKeyPrefix + userId
    }
    this.store.hit(key, policy.windowMs, tier.max, (error, admitted, count, resetUs) => {
      if (error !== null) this.storeFailed(error, reply, done)
      else this.answer(reply, policy, tier, admitted, count, resetUs, done)
    })
  }

  /** Headers that say what the log decided: budget left after this request, and when the next slot comes back. */
  private answer (reply: FastifyReply, policy: Policy, tier: Tier, admitted: boolean, count: number, resetUs: number, done: HookHandlerDoneFunction): void {
    if (this.failing) this.recovered()
    const resetS = Math.ceil(resetUs / 1_000_000)
    const remaining = Math.max(0, tier.max - count)
    reply.header('x-ratelimit-limit', tier.limit)
    reply.header('x-ratelimit-remaining', remaining)
    reply.header('x-ratelimit-reset', resetS)
    reply.header('ratelimit-policy', tier.policy)
    reply.header('ratelimit', policy.fieldPrefix + remaining + ';t=' + resetS)
    if (admitted) {
      done()
    } else {
      this.stats.refused++
      // Set here as well as in error.headers: a host's own error handler may not apply those.
      reply.header('retry-after', resetS)
      done(new RateLimitedError(tier.max, resetS))
    }
  }

  private storeFailed (error: Error, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    this.stats.storeErrors++
    this.failing = true
    this.storeWarnings.warn(
      { ...errorDetails(error), storeErrors: this.stats.storeErrors },
      this.unavailable
        ? 'rate-limit store unavailable; requests are refused with 503 (onStoreError: closed)'
        : 'rate-limit store unavailable; requests pass unlimited (onStoreError: open)'
    )
    if (this.unavailable) {
      reply.header('retry-after', this.retryAfterS)
      done(new RateLimitUnavailableError(this.retryAfterS))
    } else {
      done()
    }
  }

  private recovered (): void {
    this.failing = false
    this.log.info({ storeErrors: this.stats.storeErrors }, 'rate-limit store answering again; counting resumed')
  }
}
