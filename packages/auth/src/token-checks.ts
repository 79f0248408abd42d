import { TokenRejection } from './errors.js'
import type { AuthSettings, ClaimPolicy } from './options.js'

/** A token over 8 KiB is refused before anything else is done with it. */
export const MAX_TOKEN_BYTES = 8192

/** Clerk's `cat` header value for session tokens. */
export const CLERK_SESSION_CATEGORY = 'cl_B7d4PD111AAA'

export type JsonObject = Record<string, unknown>

export interface DecodedToken {
  header: JsonObject
  payload: JsonObject
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

function decodeSegment (segment: string): JsonObject {
  // Length 4n+1 cannot come from any byte string: reject instead of letting Buffer guess.
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw new TokenRejection('token_malformed')
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw new TokenRejection('token_malformed')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TokenRejection('token_malformed')
  return value as JsonObject
}

/**
 * Splits a compact JWS into exactly three base64url parts and parses header and payload. Nothing
 * read here is trusted: it only serves to refuse a token early, before any key is looked up.
 */
export function decodeToken (token: string): DecodedToken {
  const first = token.indexOf('.')
  const second = first === -1 ? -1 : token.indexOf('.', first + 1)
  if (second === -1 || token.indexOf('.', second + 1) !== -1) throw new TokenRejection('token_malformed')
  const header = decodeSegment(token.slice(0, first))
  const payload = decodeSegment(token.slice(first + 1, second))
  const signature = token.slice(second + 1)
  if (typeof header.alg !== 'string') throw new TokenRejection('token_malformed')
  // An empty signature is checked after `alg`, so `alg: none` tokens are named for what they are.
  if (signature !== '' && (!BASE64URL.test(signature) || signature.length % 4 === 1)) throw new TokenRejection('token_malformed')
  return { header, payload }
}

/**
 * `typ` is a media type: matched case-insensitively, with or without the `application/` prefix
 * (RFC 7515 §4.1.9). RFC 9068 access tokens say `at+jwt`; Clerk's session tokens say `JWT`.
 */
const ACCEPTED_TYPES: Record<ClaimPolicy, RegExp> = {
  clerk: /^(?:application\/)?jwt$/i,
  oidc: /^(?:application\/)?(?:at\+)?jwt$/i
}

/**
 * The header checks the README lists under Errors. `jku`, `x5u`, `jwk` and `x5c` are never
 * read: keys come only from the configured source.
 */
export function checkHeader (header: JsonObject, settings: AuthSettings, hasSignature: boolean): void {
  const { alg, typ, crit, cat } = header
  if (!settings.algorithms.includes(alg as string)) throw new TokenRejection('token_algorithm_not_allowed')
  if (!hasSignature) throw new TokenRejection('token_invalid_signature')
  if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYPES[settings.claims].test(typ))) {
    throw new TokenRejection('token_invalid_type')
  }
  // No extension is understood, so any `crit` makes the token one we must not accept (RFC 7515 §4.1.11).
  if (crit !== undefined) throw new TokenRejection('token_unsupported_crit')
  if (settings.claims === 'clerk' && cat !== undefined && cat !== CLERK_SESSION_CATEGORY) throw new TokenRejection('token_invalid_category')
}

function isNumericDate (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function requiredString (payload: JsonObject, claim: string): string {
  const value = payload[claim]
  if (value === undefined) throw new TokenRejection('token_missing_claim', claim)
  if (typeof value !== 'string' || value === '') throw new TokenRejection('token_invalid_claim', claim)
  return value
}

function optionalDate (payload: JsonObject, claim: string): number | undefined {
  const value = payload[claim]
  if (value === undefined) return undefined
  if (!isNumericDate(value)) throw new TokenRejection('token_invalid_claim', claim)
  return value * 1000
}

/**
 * The claim checks the README lists under Errors, on the payload whose signature is verified
 * next. Returns `exp` in milliseconds (the verified-token cache never keeps a token past it).
 */
export function checkClaims (payload: JsonObject, settings: AuthSettings, now: number): number {
  const { iss, sts, aud } = payload
  if (iss === undefined) throw new TokenRejection('token_missing_claim', 'iss')
  if (iss !== settings.issuer) throw new TokenRejection('token_invalid_issuer')

  const skew = settings.clockSkewMs
  const exp = optionalDate(payload, 'exp')
  if (exp === undefined) throw new TokenRejection('token_missing_claim', 'exp')
  if (exp <= now - skew) throw new TokenRejection('token_expired')
  const nbf = optionalDate(payload, 'nbf')
  if (nbf !== undefined && nbf > now + skew) throw new TokenRejection('token_not_yet_valid')
  const iat = optionalDate(payload, 'iat')
  if (iat !== undefined && iat > now + skew) throw new TokenRejection('token_issued_in_future')

  requiredString(payload, 'sub')
  if (settings.claims === 'clerk') {
    requiredString(payload, 'sid')
    if (sts !== undefined && sts !== 'active') throw new TokenRejection('token_session_inactive')
  }

  if (settings.authorizedParties !== undefined) {
    const azp = requiredString(payload, 'azp')
    if (!settings.authorizedParties.has(azp)) throw new TokenRejection('token_invalid_authorized_party')
  }
  if (settings.audience !== undefined) {
    if (aud === undefined) throw new TokenRejection('token_missing_claim', 'aud')
    const audiences = Array.isArray(aud) ? aud : [aud]
    if (!audiences.includes(settings.audience)) throw new TokenRejection('token_invalid_audience')
  }
  return exp
}
