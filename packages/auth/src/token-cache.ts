import type { KeySource } from './key-store.js'
import type { VerificationKey } from './verification-key.js'

interface Entry<T> {
  value: T
  /** The token's `exp` in milliseconds: an entry is never used at or past it. */
  expiresAt: number
  /** The key that verified the token: retiring it (removed from the JWKS) drops the entry too. */
  key: VerificationKey
}

/**
 * Verified tokens by a hash of the whole token, so a hit skips decoding, claim checks and the
 * signature. Bounded: when full, the oldest entry makes room (insertion order; cheaper than LRU
 * on every hit, and only tokens that verified can get in, so it cannot be flooded with garbage).
 */
export class TokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>()
  readonly #max: number
  readonly #keys: KeySource

  constructor (max: number, keys: KeySource) {
    this.#max = max
    this.#keys = keys
  }

  get size (): number {
    return this.#entries.size
  }

  get (id: string, now: number): T | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (now < entry.expiresAt && (now < entry.key.freshUntil || this.#keys.keepUsing(entry.key, now))) return entry.value
    this.#entries.delete(id)
    return undefined
  }

  set (id: string, value: T, expiresAt: number, key: VerificationKey): void {
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
    this.#entries.set(id, { value, expiresAt, key })
  }
}
