import { type BreakerState, CircuitBreaker, REJECTED } from '@muejam/circuit-breaker'
import type { FastifyBaseLogger } from 'fastify'
import { TokenRejection } from './errors.js'
import { fetchJwks } from './jwks-fetch.js'
import { keyFromJwk, type VerificationKey } from './verification-key.js'

/** Where verification keys come from: a JWKS URL, or one configured public key. */
export interface KeySource {
  /** The key for a token's `kid`; a promise when a fetch is needed. Throws a TokenRejection. */
  get (kid: string | undefined, now: number): VerificationKey | Promise<VerificationKey>
  /**
   * Whether a key whose `freshUntil` has passed may still verify (stale-if-error), starting a
   * background refresh when one is due. Used by the verified-token cache.
   */
  keepUsing (key: VerificationKey, now: number): boolean
  /** What the health check and the stats report. */
  readonly state: KeySourceState
  close (): void
}

export interface KeySourceState {
  source: 'jwks' | 'public_key'
  keys: number
  fetches: number
  fetchFailures: number
  /** `null` until the first fetch has finished. */
  lastFetchOk: boolean | null
  /** The JWKS circuit breaker (`null` for a configured public key, which is never fetched). */
  readonly breaker: BreakerState | null
}

/** One configured key, always fresh: networkless verification. */
export class StaticKeySource implements KeySource {
  readonly #key: VerificationKey
  readonly state: KeySourceState = { source: 'public_key', keys: 1, fetches: 0, fetchFailures: 0, lastFetchOk: null, breaker: null }

  constructor (key: VerificationKey) {
    this.#key = key
  }

  get (): VerificationKey {
    return this.#key
  }

  /* c8 ignore start -- a static key is fresh forever (freshUntil is Infinity), so the cache never asks */
  keepUsing (): boolean {
    return true
  }
  /* c8 ignore stop */

  close (): void {}
}

export interface JwksKeySourceOptions {
  jwksUrl: string
  algorithms: readonly string[]
  ttlMs: number
  cooldownMs: number
  timeoutMs: number
  maxStaleMs: number
  /** Failed fetches in a row that open the circuit breaker. */
  breakerFailureThreshold: number
  /** How long the open breaker allows no fetch before one probe, in ms. */
  breakerCoolOffMs: number
  log: FastifyBaseLogger
}

function retire (key: VerificationKey): void {
  key.freshUntil = 0
  key.usableUntil = 0
}

/**
 * Keys from a JWKS URL, with what get-jwks and jose's remote sets lack:
 * - the whole set is cached for `ttlMs`; one fetch serves every kid, concurrent misses share it;
 * - a fetch is started at most once per `cooldownMs` (unknown kids inside it fail fast with no
 *   fetch; a failed refresh is retried after it), so random kids cannot make it hammer the issuer;
 * - a known key past its TTL keeps verifying while a background refresh runs, and for up to
 *   `maxStaleMs` after the last good fetch if refreshes fail (stale-if-error);
 * - a refresh that succeeds retires every key no longer in the set (and a kid that now names
 *   another key), so a removed key stops verifying within `ttlMs + cooldownMs`;
 * - the URL is the configured one only: nothing in a token (jku, x5u, jwk, x5c, iss) is fetched;
 * - after `breakerFailureThreshold` failed fetches in a row a circuit breaker opens: for
 *   `breakerCoolOffMs` nothing is fetched, known keys keep verifying (up to `maxStaleMs`) and
 *   any other token gets 503 at once; then one fetch probes, and others do not wait for it.
 */
export class JwksKeySource implements KeySource {
  readonly #options: JwksKeySourceOptions
  readonly #closed = new AbortController()
  #keys = new Map<string, VerificationKey>()
  #lastFetchAt = Number.NEGATIVE_INFINITY
  #inflight: Promise<void> | null = null
  readonly #breaker: CircuitBreaker
  readonly state: KeySourceState

  constructor (options: JwksKeySourceOptions) {
    this.#options = options
    const breaker = new CircuitBreaker({ name: 'jwks', failureThreshold: options.breakerFailureThreshold, coolOffMs: options.breakerCoolOffMs })
    breaker.on('stateChange', ({ from, to, failures }) => {
      if (to === 'open') options.log.warn({ jwks_url: options.jwksUrl, from, failures, cool_off_ms: options.breakerCoolOffMs }, 'JWKS circuit breaker open; no fetch until a probe, cached keys keep verifying')
      else if (to === 'closed') options.log.info({ jwks_url: options.jwksUrl, from }, 'JWKS circuit breaker closed')
    })
    this.#breaker = breaker
    this.state = {
      source: 'jwks',
      keys: 0,
      fetches: 0,
      fetchFailures: 0,
      lastFetchOk: null,
      get breaker () { return breaker.state }
    }
  }

  get (kid: string | undefined, now: number): VerificationKey | Promise<VerificationKey> {
    if (kid === undefined) throw new TokenRejection('token_missing_kid')
    const key = this.#keys.get(kid)
    if (key !== undefined && this.keepUsing(key, now)) return key
    if (this.#inflight !== null) {
      // A probe of a breaker that has been failing is not waited for: 503 at once.
      if (this.#breaker.state !== 'closed') throw this.#unavailable()
      return this.#inflight.then(() => this.#afterFetch(kid))
    }
    if (now < this.#lastFetchAt + this.#options.cooldownMs) throw this.#refusal(kid, now)
    const permit = this.#breaker.permit()
    if (permit === REJECTED) throw this.#unavailable()
    return this.#fetch(now, permit).then(() => this.#afterFetch(kid))
  }

  keepUsing (key: VerificationKey, now: number): boolean {
    if (now < key.freshUntil) return true
    if (now >= key.usableUntil) return false
    if (this.#inflight === null && now >= this.#lastFetchAt + this.#options.cooldownMs) {
      const permit = this.#breaker.permit()
      // The refresh runs on its own (its promise never rejects); this request goes on with the key it has.
      if (permit !== REJECTED) this.#fetch(now, permit)
    }
    return true
  }

  close (): void {
    this.#closed.abort()
  }

  /** Inside the cooldown: an unknown kid is a 401 if the last fetch worked, else keys are unavailable. */
  #refusal (kid: string, now: number): TokenRejection {
    if (this.state.lastFetchOk === true && !this.#keys.has(kid)) return new TokenRejection('token_unknown_kid')
    const retryAfterS = Math.max(1, Math.ceil((this.#lastFetchAt + this.#options.cooldownMs - now) / 1000))
    return new TokenRejection('auth_keys_unavailable', undefined, retryAfterS)
  }

  /** The breaker refuses a fetch: 503 until it lets the next one through. */
  #unavailable (): TokenRejection {
    return new TokenRejection('auth_keys_unavailable', undefined, Math.max(1, Math.ceil(this.#breaker.retryAfterMs() / 1000)))
  }

  #afterFetch (kid: string): VerificationKey {
    const now = Date.now()
    const key = this.#keys.get(kid)
    if (key !== undefined && now < key.usableUntil) return key
    throw this.#refusal(kid, now)
  }

  #fetch (now: number, permit: number): Promise<void> {
    this.#lastFetchAt = now
    this.state.fetches++
    this.#inflight = fetchJwks(this.#options.jwksUrl, this.#options.timeoutMs, this.#closed.signal).then(
      (jwks) => {
        this.#breaker.succeeded(permit)
        this.#replaceKeys(jwks)
      },
      (error: Error) => {
        this.state.fetchFailures++
        this.state.lastFetchOk = false
        if (this.#closed.signal.aborted) return
        this.#breaker.failed(permit)
        this.#options.log.warn({ jwks_url: this.#options.jwksUrl, reason: error.message }, 'JWKS fetch failed; keeping the keys already cached')
      }
    ).finally(() => { this.#inflight = null })
    return this.#inflight
  }

  #replaceKeys (jwks: unknown[]): void {
    const now = Date.now()
    const { algorithms, ttlMs, maxStaleMs, log } = this.#options
    const next = new Map<string, VerificationKey>()
    const skipped: string[] = []
    for (const jwk of jwks) {
      const parsed = keyFromJwk(jwk, algorithms)
      if (typeof parsed === 'string') {
        skipped.push(parsed)
        continue
      }
      const kid = parsed.kid as string
      if (next.has(kid)) {
        skipped.push(`duplicate kid ${kid}`)
        continue
      }
      const known = this.#keys.get(kid)
      // The same material keeps its object, so tokens cached under it stay valid.
      const key = known !== undefined && known.fingerprint === parsed.fingerprint ? known : parsed
      key.freshUntil = now + ttlMs
      key.usableUntil = now + maxStaleMs
      next.set(kid, key)
    }
    const removed: string[] = []
    for (const [kid, key] of this.#keys) {
      if (next.get(kid) !== key) {
        retire(key)
        removed.push(kid)
      }
    }
    this.#keys = next
    this.state.keys = next.size
    this.state.lastFetchOk = true
    if (skipped.length > 0) log.warn({ jwks_url: this.#options.jwksUrl, skipped }, 'JWKS members skipped')
    if (removed.length > 0) log.info({ jwks_url: this.#options.jwksUrl, kids: removed }, 'signing keys removed from the JWKS are no longer trusted')
  }
}
