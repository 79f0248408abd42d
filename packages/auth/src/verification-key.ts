import { createPublicKey, type AsymmetricKeyDetails, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createVerifier, type Algorithm } from 'fast-jwt'

/** Every algorithm the plugin can verify: asymmetric only. */
export const SUPPORTED_ALGORITHMS = [
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA'
] as const

export type SupportedAlgorithm = typeof SUPPORTED_ALGORITHMS[number]

/** RSA keys shorter than this are refused (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048

const EC_ALGORITHMS: Record<string, SupportedAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512'
}

/**
 * A key that verifies signatures. `freshUntil` and `usableUntil` are absolute times (ms): past
 * the first the key is revalidated in the background, past the second it is no longer used.
 * A retired key (gone from the JWKS, or replaced under the same kid) has both set to 0, which
 * also invalidates every verified token cached under it.
 */
export interface VerificationKey {
  readonly kid: string | undefined
  /** Algorithms this key may verify: what its type allows, its JWK `alg` if any, and the plugin allows. */
  readonly algorithms: ReadonlySet<string>
  /** What identifies the key material, to notice a kid that now names another key. */
  readonly fingerprint: string
  /** fast-jwt's verifier bound to this key; throws a TokenError when the signature is wrong. */
  readonly verify: (token: string) => unknown
  freshUntil: number
  usableUntil: number
}

/** The algorithms a key's type can produce, or a reason why the key is not usable. */
function algorithmsOf (key: KeyObject): SupportedAlgorithm[] | string {
  // Node fills these in for every asymmetric key: modulusLength for RSA, namedCurve for EC.
  const details = key.asymmetricKeyDetails as AsymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details.modulusLength as number) < MIN_RSA_BITS) return `an RSA key shorter than ${MIN_RSA_BITS} bits`
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
    case 'ec': {
      const algorithm = EC_ALGORITHMS[details.namedCurve as string]
      return algorithm === undefined ? `an EC key on an unsupported curve (${details.namedCurve})` : [algorithm]
    }
    case 'ed25519':
      return ['EdDSA']
    default:
      return `a ${key.asymmetricKeyType} key`
  }
}

/**
 * Prepares a public key for the allowed algorithms: a fast-jwt verifier that checks only the
 * signature (and refuses `crit`), since every claim and date is checked beforehand by the plugin.
 * Returns a reason string when the key cannot serve.
 */
export function createVerificationKey (
  key: KeyObject,
  allowed: readonly string[],
  kid: string | undefined,
  declaredAlg?: string
): VerificationKey | string {
  const possible = algorithmsOf(key)
  if (typeof possible === 'string') return `${possible} is not supported`
  const algorithms = possible.filter((alg) => allowed.includes(alg) && (declaredAlg === undefined || declaredAlg === alg))
  if (algorithms.length === 0) {
    return `a ${key.asymmetricKeyType} key${declaredAlg === undefined ? '' : ` for ${declaredAlg}`} cannot verify any allowed algorithm (${allowed.join(', ')})`
  }
  const pem = key.export({ type: 'spki', format: 'pem' }).toString()
  const verify = createVerifier({
    key: pem,
    algorithms: algorithms as Algorithm[],
    ignoreExpiration: true,
    ignoreNotBefore: true,
    allowedCritHeaders: []
  })
  return {
    kid,
    algorithms: new Set(algorithms),
    fingerprint: `${declaredAlg ?? ''}:${pem}`,
    verify,
    freshUntil: Number.POSITIVE_INFINITY,
    usableUntil: Number.POSITIVE_INFINITY
  }
}

/** Imports one member of a JWK set; returns a reason string for keys that cannot verify signatures. */
export function keyFromJwk (jwk: unknown, allowed: readonly string[]): VerificationKey | string {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return 'not an object'
  const { kid, use, key_ops: keyOps, alg } = jwk as Record<string, unknown>
  if (typeof kid !== 'string' || kid === '') return 'no kid'
  if (use !== undefined && use !== 'sig') return `use is ${String(use)}`
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) return 'key_ops lacks verify'
  if (alg !== undefined && typeof alg !== 'string') return 'alg is not a string'
  let key: KeyObject
  try {
    // Only the public members are read: a private `d` in a published set is ignored.
    key = createPublicKey({ key: publicMembers(jwk as JsonWebKey), format: 'jwk' })
  } catch {
    return 'not a valid public JWK'
  }
  return createVerificationKey(key, allowed, kid, alg)
}

const PUBLIC_MEMBERS = ['kty', 'n', 'e', 'crv', 'x', 'y'] as const

function publicMembers (jwk: JsonWebKey): JsonWebKey {
  const result: JsonWebKey = {}
  for (const member of PUBLIC_MEMBERS) {
    if (jwk[member] !== undefined) result[member] = jwk[member]
  }
  return result
}
