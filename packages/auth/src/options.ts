import { MAX_FAILURE_THRESHOLD } from '@muejam/circuit-breaker'
import { createOptionValidators } from '@muejam/problem'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AlgorithmRefusedError, InvalidOptionError, type FailureReason } from './errors.js'
import { SUPPORTED_ALGORITHMS } from './verification-key.js'

/** What a route asks of the caller: a verified token, or one only if sent. */
export type AuthMode = 'required' | 'optional'

/**
 * Which tokens are accepted. `'clerk'`: Clerk session tokens (`sid` required, `sts` must be
 * `active` when present, Clerk's `cat` header checked, `typ` JWT). `'oidc'`: any OIDC/OAuth
 * issuer's tokens, RFC 9068 access tokens included (`typ` JWT or `at+jwt`; no `sid`, `sts` or `cat`).
 */
export type ClaimPolicy = 'clerk' | 'oidc'

/** The accepted claim policies, in the order the README lists them. */
export const CLAIM_POLICIES: readonly ClaimPolicy[] = Object.freeze(['clerk', 'oidc'])

export interface AuthOptions {
  /** The only accepted `iss`, compared exactly (Clerk: the Frontend API URL, no trailing slash). Required. */
  issuer: string
  /**
   * Which tokens are accepted: `'clerk'` session tokens, or any `'oidc'` issuer's ID or access
   * tokens (RFC 9068). Default: `'clerk'`.
   */
  claims?: ClaimPolicy
  /** Where the JWK set is fetched. Default: `${issuer}/.well-known/jwks.json`. Ignored with `publicKey`. */
  jwksUrl?: string
  /** A PEM public key (SPKI): tokens are verified against it alone, with no network access and no `kid` needed. */
  publicKey?: string
  /** Accepted `alg` values. Default: `['RS256']`. HS* and `none` are refused at registration. */
  algorithms?: readonly string[]
  /** When set, `aud` must be this string or an array containing it. Empty string: unset. */
  audience?: string
  /** When non-empty, `azp` is required and must be one of these origins. */
  authorizedParties?: readonly string[]
  /** Tolerance for `exp`, `nbf` and `iat`, in milliseconds. Default: 5000. */
  clockSkewMs?: number
  /** How long a fetched JWK set is fresh, in milliseconds. Default: 600000 (10 min). */
  jwksTtlMs?: number
  /** Least time between two JWKS fetches, in milliseconds; unknown kids inside it fail with no fetch. Default: 30000. */
  jwksCooldownMs?: number
  /** Longest JWKS fetch, body included, in milliseconds. Default: 5000. */
  jwksTimeoutMs?: number
  /** How long cached keys keep verifying while every refresh fails, in milliseconds. Default: 86400000 (24 h). */
  jwksMaxStaleMs?: number
  /**
   * JWKS fetches in a row that fail before the circuit breaker opens: then nothing is fetched
   * for `jwksBreakerCoolOffMs`, cached keys keep verifying and a token signed with any other
   * key gets 503 `auth_keys_unavailable` at once. 1–1000. Default: 3.
   */
  jwksBreakerFailureThreshold?: number
  /** How long the open JWKS breaker allows no fetch before one probe, in milliseconds. Default: 30000 (as `jwksCooldownMs`). */
  jwksBreakerCoolOffMs?: number
  /** Mode of routes whose `config.auth` is not set. Default: `'optional'`. */
  defaultMode?: AuthMode
  /** Most verified tokens kept (keyed by a SHA-256 of the token, never past `exp`); 0 turns the cache off. Default: 10000. */
  tokenCacheSize?: number
  /** `realm` of the `WWW-Authenticate` challenge. Default: none. */
  realm?: string
  /**
   * Called once per refused request with the reason (the API writes its audit log here). Never
   * given the token. A throw is logged. A promise it returns holds the refusal until it
   * settles; an error it rejects with is sent instead (a rate limiter's 429 for a client that
   * keeps failing).
   */
  onFailure?: (request: FastifyRequest, reason: FailureReason, reply: FastifyReply) => void | Promise<void>
}

export interface AuthSettings {
  issuer: string
  claims: ClaimPolicy
  jwksUrl: string | undefined
  publicKey: string | undefined
  algorithms: readonly string[]
  audience: string | undefined
  authorizedParties: ReadonlySet<string> | undefined
  clockSkewMs: number
  jwksTtlMs: number
  jwksCooldownMs: number
  jwksTimeoutMs: number
  jwksMaxStaleMs: number
  jwksBreakerFailureThreshold: number
  jwksBreakerCoolOffMs: number
  defaultMode: AuthMode
  tokenCacheSize: number
  realm: string | undefined
  onFailure: ((request: FastifyRequest, reason: FailureReason, reply: FastifyReply) => void | Promise<void>) | undefined
}

const DAY_MS = 86_400_000

const option = createOptionValidators(InvalidOptionError)

/** `''` counts as unset, as an empty environment variable does. */
function optionalString (name: string, value: unknown): string | undefined {
  return option.string(name, value, { emptyIsUnset: true })
}

function httpUrl (name: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionError(name, 'must be an absolute http:// or https:// URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidOptionError(name, 'must be an http:// or https:// URL')
  // fetch() refuses such URLs, and its error would print the password.
  if (url.username !== '' || url.password !== '') throw new InvalidOptionError(name, 'must not carry a user name or password')
  return url.href
}

function algorithmList (value: unknown): readonly string[] {
  if (value === undefined) return ['RS256']
  if (!Array.isArray(value) || value.length === 0) throw new InvalidOptionError('algorithms', 'must be a non-empty array')
  for (const alg of value) {
    if (typeof alg !== 'string') throw new InvalidOptionError('algorithms', 'must hold strings')
    if (/^hs\d+$/i.test(alg) || alg.toLowerCase() === 'none') throw new AlgorithmRefusedError(alg)
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new InvalidOptionError('algorithms', `"${alg}" is not one of ${SUPPORTED_ALGORITHMS.join(', ')}`)
    }
  }
  return Object.freeze([...new Set(value as string[])])
}

function partyList (value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.some((party) => typeof party !== 'string' || party === '')) {
    throw new InvalidOptionError('authorizedParties', 'must be an array of non-empty strings')
  }
  return value.length === 0 ? undefined : new Set(value as string[])
}

/** Checks the options and fills in the defaults; throws a coded error naming the first bad option. */
export function resolveSettings (options: AuthOptions): AuthSettings {
  const issuer = option.string('issuer', options.issuer, { required: true, nonEmpty: true })
  const claims = option.oneOf('claims', options.claims, CLAIM_POLICIES, { default: 'clerk' })

  const publicKey = optionalString('publicKey', options.publicKey)
  let jwksUrl: string | undefined
  if (publicKey === undefined) {
    const explicit = optionalString('jwksUrl', options.jwksUrl)
    if (explicit !== undefined) {
      jwksUrl = httpUrl('jwksUrl', explicit)
    } else {
      if (!/^https?:\/\//i.test(issuer)) {
        throw new InvalidOptionError('jwksUrl', 'is required when the issuer is not an http(s) URL and no publicKey is given')
      }
      jwksUrl = httpUrl('jwksUrl', `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`)
    }
  }

  return {
    issuer,
    claims,
    jwksUrl,
    publicKey,
    algorithms: algorithmList(options.algorithms),
    audience: optionalString('audience', options.audience),
    authorizedParties: partyList(options.authorizedParties),
    clockSkewMs: option.milliseconds('clockSkewMs', options.clockSkewMs, { default: 5000 }),
    jwksTtlMs: option.milliseconds('jwksTtlMs', options.jwksTtlMs, { min: 1, default: 600_000 }),
    jwksCooldownMs: option.milliseconds('jwksCooldownMs', options.jwksCooldownMs, { default: 30_000 }),
    jwksTimeoutMs: option.milliseconds('jwksTimeoutMs', options.jwksTimeoutMs, { min: 1, default: 5000 }),
    jwksMaxStaleMs: option.milliseconds('jwksMaxStaleMs', options.jwksMaxStaleMs, { default: DAY_MS }),
    jwksBreakerFailureThreshold: option.integer('jwksBreakerFailureThreshold', options.jwksBreakerFailureThreshold, { min: 1, max: MAX_FAILURE_THRESHOLD, default: 3 }),
    jwksBreakerCoolOffMs: option.milliseconds('jwksBreakerCoolOffMs', options.jwksBreakerCoolOffMs, { min: 1, default: 30_000 }),
    defaultMode: option.oneOf('defaultMode', options.defaultMode, ['optional', 'required'], { default: 'optional' }),
    tokenCacheSize: option.integer('tokenCacheSize', options.tokenCacheSize, { default: 10_000 }),
    realm: optionalString('realm', options.realm),
    onFailure: option.func('onFailure', options.onFailure)
  }
}
