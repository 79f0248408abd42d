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
}

/** One configured key, always fresh: networkless verification. */
export class StaticKeySource implements KeySource {
  readonly #key: VerificationKey
  readonly state: KeySourceState = { source: 'public_key', keys: 1, fetches: 0, fetchFailures: 0, lastFetchOk: null }

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
 * - the URL is the configured one only: nothing in a token (jku, x5u, jwk, x5c, iss) is fetched.
 */
export class JwksKeySource implements KeySource {
  readonly #options: JwksKeySourceOptions
  readonly #closed = new AbortController()
  #keys = new Map<string, VerificationKey>()
  #lastFetchAt = Number.NEGATIVE_INFINITY
  #inflight: Promise<void> | null = null
  readonly state: KeySourceState = { source: 'jwks', keys: 0, fetches: 0, fetchFailures: 0, lastFetchOk: null }

  constructor (options: JwksKeySourceOptions) {
    this.#options = options
  }

  get (kid: string | undefined, now: number): VerificationKey | Promise<VerificationKey> {
    if (kid === undefined) throw new TokenRejection('token_missing_kid')
    const key = this.#keys.get(kid)
    if (key !== undefined && this.keepUsing(key, now)) return key
    if (this.#inflight !== null) return this.#inflight.then(() => this.#afterFetch(kid))
    if (now < this.#lastFetchAt + this.#options.cooldownMs) throw this.#refusal(kid, now)
    return this.#fetch(now).then(() => this.#afterFetch(kid))
  }

  keepUsing (key: VerificationKey, now: number): boolean {
    if (now < key.freshUntil) return true
    if (now >= key.usableUntil) return false
    if (this.#inflight === null && now >= this.#lastFetchAt + this.#options.cooldownMs) {
      // The refresh runs on its own (its promise never rejects); this request goes on with the key it has.
      this.#fetch(now)
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

  #afterFetch (kid: string): VerificationKey {
    const now = Date.now()
    const key = this.#keys.get(kid)
    if (key !== undefined && now < key.usableUntil) return key
    throw this.#refusal(kid, now)
  }

  #fetch (now: number): Promise<void> {
    this.#lastFetchAt = now
    this.state.fetches++
    this.#inflight = fetchJwks(this.#options.jwksUrl, this.#options.timeoutMs, this.#closed.signal).then(
      (jwks) => { this.#replaceKeys(jwks) },
      (error: Error) => {
        this.state.fetchFailures++
        this.state.lastFetchOk = false
        if (this.#closed.signal.aborted) return
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
