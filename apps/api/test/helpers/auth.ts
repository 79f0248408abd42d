import { createSign, generateKeyPairSync } from 'node:crypto'

/*
 * The one place tests get an identity from: real RS256 session tokens, verified by
 * @muejam/auth against TEST_AUTH_ENV's public key (AUTH_JWT_KEY, no network).
 */

const ISSUER = 'https://issuer.muejam.test'
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })

/** Configuration that makes the API trust the tokens of `authHeaders()`. */
export const TEST_AUTH_ENV = {
  AUTH_ISSUER: ISSUER,
  AUTH_JWT_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString()
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A signed session token of the Clerk user `userId`; `claims` override the defaults. */
export function signToken (userId: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const header = encode({ alg: 'RS256', typ: 'JWT' })
  const payload = encode({ iss: ISSUER, sub: userId, sid: `sess_${userId}`, iat: now, nbf: now, exp: now + 600, ...claims })
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey).toString('base64url')
  return `${header}.${payload}.${signature}`
}

/** Request headers that make the caller the Clerk user `userId`. */
export function authHeaders (userId: string): Record<string, string> {
  return { authorization: `Bearer ${signToken(userId)}` }
}
