import createError from '@fastify/error'
import { createOptionError, createProblemError, type ProblemErrorInstance } from '@muejam/problem'

/** A plugin option is missing, of the wrong type or out of range; raised when the plugin registers. */
export const InvalidOptionError = createOptionError('@muejam/auth')

/** `algorithms` names a symmetric algorithm or `none`, which a public-key verifier must never accept. */
export const AlgorithmRefusedError = createError<[string]>(
  'MUEJAM_AUTH_ALGORITHM_REFUSED',
  'Refused @muejam/auth algorithm "%s": only asymmetric algorithms (RS*, PS*, ES*, EdDSA) are accepted; HS* and none would let anyone holding the public key forge tokens',
  500,
  TypeError
)

/** `publicKey` is not a usable PEM public key for the allowed algorithms. */
export const InvalidKeyError = createError<[string]>(
  'MUEJAM_AUTH_INVALID_KEY',
  'Invalid @muejam/auth publicKey: %s',
  500,
  TypeError
)

/** A route's `config.auth` is not `'required'`, `'optional'` or `false`. */
export const InvalidRouteConfigError = createError<[string, string]>(
  'MUEJAM_AUTH_INVALID_ROUTE_CONFIG',
  'Invalid config.auth on route %s: %s',
  500,
  TypeError
)

/**
 * Why a request was refused. Every reason is a problem `code`, a key of
 * `app.auth.stats.failures` and the `reason` given to `onFailure`.
 */
export const FAILURE_REASONS = [
  'unauthenticated',
  'token_malformed',
  'token_too_large',
  'token_algorithm_not_allowed',
  'token_invalid_type',
  'token_unsupported_crit',
  'token_invalid_category',
  'token_missing_kid',
  'token_unknown_kid',
  'token_invalid_signature',
  'token_invalid_issuer',
  'token_expired',
  'token_not_yet_valid',
  'token_issued_in_future',
  'token_missing_claim',
  'token_invalid_claim',
  'token_invalid_authorized_party',
  'token_invalid_audience',
  'token_session_inactive',
  'auth_keys_unavailable'
] as const

export type FailureReason = typeof FAILURE_REASONS[number]

/**
 * The claim a reason is about, for reasons tied to one claim. Missing and ill-typed claims name
 * theirs when they are raised.
 */
const CLAIM_OF_REASON: Partial<Record<FailureReason, string>> = {
  token_invalid_issuer: 'iss',
  token_expired: 'exp',
  token_not_yet_valid: 'nbf',
  token_issued_in_future: 'iat',
  token_invalid_authorized_party: 'azp',
  token_invalid_audience: 'aud',
  token_session_inactive: 'sts'
}

const DATE_CLAIMS = new Set(['exp', 'nbf', 'iat'])

/**
 * Shown to clients as the error `message` (the problem `detail`) and, without quotes, as the
 * RFC 6750 `error_description`. Every message about a claim or header parameter names it, so a
 * host with Fastify's default error handler, which shows only `message`, still tells which.
 */
const MESSAGES: Record<FailureReason, string | ((claim: string) => string)> = {
  unauthenticated: 'This route requires a bearer token.',
  token_malformed: 'The bearer token is not a well-formed JWT.',
  token_too_large: 'The bearer token is larger than 8 KiB.',
  token_algorithm_not_allowed: 'The token is signed with an algorithm that is not accepted (alg).',
  token_invalid_type: 'The token type (typ) is not one that is accepted.',
  token_unsupported_crit: 'The token requires header extensions (crit) that are not supported.',
  token_invalid_category: 'The token is not a session token (cat).',
  token_missing_kid: 'The token names no signing key (kid).',
  token_unknown_kid: 'The token is signed with an unknown key (kid).',
  token_invalid_signature: 'The token signature is invalid.',
  token_invalid_issuer: 'The token was issued by an issuer that is not trusted (iss).',
  token_expired: 'The token has expired (exp).',
  token_not_yet_valid: 'The token is not valid yet (nbf).',
  token_issued_in_future: 'The token is issued in the future (iat).',
  token_missing_claim: (claim) => `The token lacks the required claim "${claim}".`,
  token_invalid_claim: (claim) => `The token claim "${claim}" must be ${DATE_CLAIMS.has(claim) ? 'a number of seconds' : 'a non-empty string'}.`,
  token_invalid_authorized_party: 'The token was issued for another party (azp).',
  token_invalid_audience: 'The token was issued for another audience (aud).',
  token_session_inactive: 'The token session is not active (sts).',
  auth_keys_unavailable: 'The keys that verify tokens cannot be fetched right now; retry later.'
}

function messageOf (reason: FailureReason, claim: string | undefined): string {
  const message = MESSAGES[reason]
  return typeof message === 'string' ? message : message(claim as string)
}

/**
 * Why a token was refused, before the plugin knows the realm to put in the challenge. Carries
 * no token material: only a reason and, for claim problems, the claim's name.
 */
export class TokenRejection extends Error {
  readonly reason: FailureReason
  readonly claim: string | undefined
  /** Set for `auth_keys_unavailable`: seconds until the next JWKS fetch may be tried. */
  readonly retryAfterS: number | undefined

  constructor (reason: FailureReason, claim?: string, retryAfterS?: number) {
    const named = claim ?? CLAIM_OF_REASON[reason]
    super(messageOf(reason, named))
    this.name = 'TokenRejection'
    this.reason = reason
    this.claim = named
    this.retryAfterS = retryAfterS
  }
}

/**
 * An error meant for clients: 401 with an RFC 6750 challenge, or 503 when no key can be had.
 * The message and headers never contain the token. `claim` (also in `extensions`) names the
 * claim that failed, when the refusal is about one.
 */
export type AuthError = ProblemErrorInstance<FailureReason, 401 | 503> & {
  readonly headers: Readonly<Record<string, string>>
  readonly claim?: string
}

type Unauthorized = Exclude<FailureReason, 'auth_keys_unavailable'>

/** Reasons that are about one claim: their errors name it in `claim` and in `extensions`. */
const CLAIM_REASONS: ReadonlySet<FailureReason> = new Set([
  ...Object.keys(CLAIM_OF_REASON) as FailureReason[],
  'token_missing_claim',
  'token_invalid_claim'
])

function unauthorizedClass (reason: Unauthorized) {
  const claimed = CLAIM_REASONS.has(reason)
  const Problem = createProblemError<[challenge: string, claim: string | undefined], Unauthorized, 401>({
    code: reason,
    statusCode: 401,
    name: 'AuthError',
    message: (_challenge, claim) => messageOf(reason, claim),
    headers: (challenge) => ({ 'www-authenticate': challenge }),
    ...(claimed ? { extensions: (_challenge: string, claim: string | undefined) => ({ claim }) } : {})
  })
  if (!claimed) return Problem
  return class extends Problem {
    declare readonly claim: string

    constructor (challenge: string, claim: string | undefined) {
      super(challenge, claim)
      this.claim = claim as string
    }
  }
}

const KeysUnavailableError = createProblemError<[retryAfterS: number], 'auth_keys_unavailable', 503>({
  code: 'auth_keys_unavailable',
  statusCode: 503,
  name: 'AuthError',
  message: () => messageOf('auth_keys_unavailable', undefined),
  headers: (retryAfterS) => ({ 'retry-after': String(retryAfterS) }),
  extensions: (retryAfterS) => ({ retry_after: retryAfterS })
})

const UNAUTHORIZED = Object.fromEntries(
  FAILURE_REASONS.filter((reason): reason is Unauthorized => reason !== 'auth_keys_unavailable')
    .map((reason) => [reason, unauthorizedClass(reason)])
) as Record<Unauthorized, ReturnType<typeof unauthorizedClass>>

const AUTH_ERROR_CLASSES: ReadonlyArray<abstract new (...args: never[]) => unknown> = [...Object.values(UNAUTHORIZED), KeysUnavailableError]

/** Whether `value` is a refusal of this plugin (from a request hook or `app.auth.verify`). */
export function isAuthError (value: unknown): value is AuthError {
  return AUTH_ERROR_CLASSES.some((AuthErrorClass) => value instanceof AuthErrorClass)
}

function quoted (value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`
}

/** Builds the client error for a reason: the RFC 6750 challenge for 401, `Retry-After` for 503. */
export function authError (rejection: TokenRejection, realm: string | undefined, tokenSent: boolean): AuthError {
  const { reason } = rejection
  if (reason === 'auth_keys_unavailable') return new KeysUnavailableError(rejection.retryAfterS as number) as AuthError
  const params: string[] = []
  if (realm !== undefined) params.push(`realm=${quoted(realm)}`)
  // RFC 6750 §3.1: a request without credentials gets the bare challenge, no error code.
  if (tokenSent) params.push('error="invalid_token"', `error_description=${quoted(rejection.message)}`)
  const challenge = params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`
  return new UNAUTHORIZED[reason](challenge, rejection.claim) as AuthError
}
