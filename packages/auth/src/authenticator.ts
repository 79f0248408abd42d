import { hash } from 'node:crypto'
import { TokenRejection } from './errors.js'
import type { KeySource } from './key-store.js'
import type { AuthSettings } from './options.js'
import { TokenCache } from './token-cache.js'
import { checkClaims, checkHeader, decodeToken, MAX_TOKEN_BYTES, type JsonObject } from './token-checks.js'

/** Who the verified token says the caller is. Frozen: it may be shared by the requests of one token. */
export interface AuthContext {
  /** `sub`: the user id (Clerk: `user_…`). */
  readonly userId: string
  /**
   * `sid`: the session id (Clerk: `sess_…`). Always set under the `'clerk'` claim policy; under
   * `'oidc'`, set only when the token carries a non-empty `sid` (RFC 9068 access tokens rarely do).
   */
  readonly sessionId: string | undefined
  /** The active organization (`o.id`, or `org_id` in Clerk's v1 tokens), when there is one. */
  readonly orgId?: string | undefined
  /** Every claim of the verified payload. */
  readonly claims: Readonly<Record<string, unknown>>
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const member of Object.values(value)) deepFreeze(member)
  }
  return value
}

function orgIdOf (payload: JsonObject): string | undefined {
  const org = payload.o as { id?: unknown } | undefined
  if (typeof org?.id === 'string' && org.id !== '') return org.id
  return typeof payload.org_id === 'string' && payload.org_id !== '' ? payload.org_id : undefined
}

/** The id of a token in the cache: its SHA-256, so the cache holds no usable credential. */
function tokenId (token: string): string {
  return hash('sha256', token, 'base64')
}

/**
 * Verifies bearer tokens: a cache hit answers at once; a miss decodes, checks header and claims
 * (cheap refusals first, so garbage never costs a key lookup or a signature check), gets the key,
 * checks the signature with fast-jwt, then caches the result until the token's `exp`.
 */
export class Authenticator {
  readonly #settings: AuthSettings
  readonly #keys: KeySource
  readonly #cache: TokenCache<AuthContext> | null
  /** Verifications in flight by token id: concurrent first requests of one token share one. */
  readonly #pending = new Map<string, Promise<AuthContext>>()
  /** Cache hits and full verifications that succeeded. */
  readonly counts = { cacheHits: 0, verified: 0 }

  constructor (settings: AuthSettings, keys: KeySource) {
    this.#settings = settings
    this.#keys = keys
    this.#cache = settings.tokenCacheSize > 0 ? new TokenCache(settings.tokenCacheSize, keys) : null
  }

  get cacheSize (): number {
    return this.#cache?.size ?? 0
  }

  /** The caller's identity, at once on a cache hit, else a promise. Throws/rejects a TokenRejection. */
  authenticate (token: string): AuthContext | Promise<AuthContext> {
    if (token.length > MAX_TOKEN_BYTES) throw new TokenRejection('token_too_large')
    if (this.#cache === null) return this.#verify(token, undefined)
    const id = tokenId(token)
    const hit = this.#cache.get(id, Date.now())
    if (hit !== undefined) {
      this.counts.cacheHits++
      return hit
    }
    let pending = this.#pending.get(id)
    if (pending === undefined) {
      pending = this.#verify(token, id).finally(() => this.#pending.delete(id))
      this.#pending.set(id, pending)
    }
    return pending
  }

  async #verify (token: string, id: string | undefined): Promise<AuthContext> {
    const now = Date.now()
    const { header, payload } = decodeToken(token)
    checkHeader(header, this.#settings, !token.endsWith('.'))
    const exp = checkClaims(payload, this.#settings, now)
    const kid = typeof header.kid === 'string' && header.kid !== '' ? header.kid : undefined
    const key = await this.#keys.get(kid, now)
    if (!key.algorithms.has(header.alg as string)) throw new TokenRejection('token_invalid_signature')
    try {
      key.verify(token)
    } catch {
      throw new TokenRejection('token_invalid_signature')
    }
    this.counts.verified++
    const auth: AuthContext = Object.freeze({
      userId: payload.sub as string,
      sessionId: typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined,
      orgId: orgIdOf(payload),
      claims: deepFreeze(payload)
    })
    if (id !== undefined && exp > Date.now()) this.#cache?.set(id, auth, exp, key)
    return auth
  }
}
