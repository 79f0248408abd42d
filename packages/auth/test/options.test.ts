import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import auth, { type AuthOptions } from '../src/index.js'

const ISSUER = 'https://clerk.example.org'

async function registration (options: AuthOptions): Promise<unknown> {
  const app = Fastify()
  try {
    await app.register(auth, options)
    await app.ready()
    return undefined
  } catch (error) {
    return error
  } finally {
    await app.close()
  }
}

function pem (type: 'rsa' | 'ec' | 'ed25519' | 'x25519', options: Record<string, unknown> = {}) {
  // Without `publicKeyEncoding` every key type yields KeyObjects; one signature covers the four.
  const generate = generateKeyPairSync as (type: string, options: Record<string, unknown>) => KeyPairKeyObjectResult
  const { publicKey, privateKey } = generate(type, { modulusLength: 2048, namedCurve: 'P-256', ...options })
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  }
}

const invalid: Array<[string, Partial<AuthOptions> | Record<string, unknown>, string, RegExp]> = [
  ['no issuer', {}, 'MUEJAM_AUTH_INVALID_OPTION', /"issuer": is required/],
  ['an empty issuer', { issuer: '' }, 'MUEJAM_AUTH_INVALID_OPTION', /"issuer"/],
  ['an issuer that is not a URL and no jwksUrl', { issuer: 'urn:example:issuer' }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksUrl": is required/],
  ['a jwksUrl that is not a URL', { issuer: ISSUER, jwksUrl: 'not a url' }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksUrl": must be an absolute/],
  ['a jwksUrl that is not http(s)', { issuer: ISSUER, jwksUrl: 'file:///etc/jwks.json' }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksUrl": must be an http/],
  ['a jwksUrl with credentials', { issuer: ISSUER, jwksUrl: 'https://reader:pw@clerk.example.org/jwks' }, 'MUEJAM_AUTH_INVALID_OPTION', /must not carry a user name or password/],
  ['a jwksUrl that is not a string', { issuer: ISSUER, jwksUrl: 42 }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksUrl": must be a string/],
  ['HS256 among the algorithms', { issuer: ISSUER, algorithms: ['RS256', 'HS256'] }, 'MUEJAM_AUTH_ALGORITHM_REFUSED', /"HS256"/],
  ['hs512 in lower case', { issuer: ISSUER, algorithms: ['hs512'] }, 'MUEJAM_AUTH_ALGORITHM_REFUSED', /"hs512"/],
  ['none', { issuer: ISSUER, algorithms: ['none'] }, 'MUEJAM_AUTH_ALGORITHM_REFUSED', /"none"/],
  ['None', { issuer: ISSUER, algorithms: ['None'] }, 'MUEJAM_AUTH_ALGORITHM_REFUSED', /"None"/],
  ['an unknown algorithm', { issuer: ISSUER, algorithms: ['RS1'] }, 'MUEJAM_AUTH_INVALID_OPTION', /"RS1" is not one of/],
  ['an empty algorithm list', { issuer: ISSUER, algorithms: [] }, 'MUEJAM_AUTH_INVALID_OPTION', /non-empty array/],
  ['an algorithm that is not a string', { issuer: ISSUER, algorithms: [256] }, 'MUEJAM_AUTH_INVALID_OPTION', /must hold strings/],
  ['a negative clock skew', { issuer: ISSUER, clockSkewMs: -1 }, 'MUEJAM_AUTH_INVALID_OPTION', /"clockSkewMs"/],
  ['a fractional TTL', { issuer: ISSUER, jwksTtlMs: 1.5 }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksTtlMs"/],
  ['a zero timeout', { issuer: ISSUER, jwksTimeoutMs: 0 }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksTimeoutMs"/],
  ['a timeout beyond setTimeout', { issuer: ISSUER, jwksTimeoutMs: 2 ** 31 }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksTimeoutMs"/],
  ['a cooldown given as a string', { issuer: ISSUER, jwksCooldownMs: '30000' }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksCooldownMs"/],
  ['an unknown claim policy', { issuer: ISSUER, claims: 'auth0' }, 'MUEJAM_AUTH_INVALID_OPTION', /"claims": must be one of "clerk", "oidc"/],
  ['a claim policy in another case', { issuer: ISSUER, claims: 'OIDC' }, 'MUEJAM_AUTH_INVALID_OPTION', /"claims"/],
  ['a claim policy that is not a string', { issuer: ISSUER, claims: true }, 'MUEJAM_AUTH_INVALID_OPTION', /"claims"/],
  ['an unknown default mode', { issuer: ISSUER, defaultMode: 'always' }, 'MUEJAM_AUTH_INVALID_OPTION', /"defaultMode"/],
  ['a breaker threshold of 0', { issuer: ISSUER, jwksBreakerFailureThreshold: 0 }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksBreakerFailureThreshold": must be an integer from 1 to 1000/],
  ['a breaker threshold as a string', { issuer: ISSUER, jwksBreakerFailureThreshold: '2' }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksBreakerFailureThreshold": must be an integer from 1 to 1000/],
  ['a zero breaker cool-off', { issuer: ISSUER, jwksBreakerCoolOffMs: 0 }, 'MUEJAM_AUTH_INVALID_OPTION', /"jwksBreakerCoolOffMs": must be an integer number of milliseconds from 1 to 2147483647/],
  ['a negative cache size', { issuer: ISSUER, tokenCacheSize: -1 }, 'MUEJAM_AUTH_INVALID_OPTION', /"tokenCacheSize"/],
  ['an onFailure that is not a function', { issuer: ISSUER, onFailure: 'log' }, 'MUEJAM_AUTH_INVALID_OPTION', /"onFailure"/],
  ['an audience that is not a string', { issuer: ISSUER, audience: ['a'] }, 'MUEJAM_AUTH_INVALID_OPTION', /"audience"/],
  ['authorized parties that are not an array', { issuer: ISSUER, authorizedParties: 'https://app.example.org' }, 'MUEJAM_AUTH_INVALID_OPTION', /"authorizedParties"/],
  ['an empty authorized party', { issuer: ISSUER, authorizedParties: [''] }, 'MUEJAM_AUTH_INVALID_OPTION', /"authorizedParties"/]
]

for (const [name, options, code, message] of invalid) {
  t.test(`registration fails with ${code} for ${name}`, async (t) => {
    t.match(await registration(options as AuthOptions), { code, message })
  })
}

t.test('a private key given as publicKey is refused, so it never sits in the API configuration', async (t) => {
  t.match(await registration({ issuer: ISSUER, publicKey: pem('rsa').privatePem }), { code: 'MUEJAM_AUTH_INVALID_KEY', message: /private key/ })
})

t.test('a publicKey that is not PEM is refused', async (t) => {
  t.match(await registration({ issuer: ISSUER, publicKey: 'not a key' }), { code: 'MUEJAM_AUTH_INVALID_KEY', message: /not a PEM public key/ })
})

t.test('a publicKey that cannot verify any allowed algorithm is refused', async (t) => {
  t.match(await registration({ issuer: ISSUER, publicKey: pem('ec').publicPem }), { code: 'MUEJAM_AUTH_INVALID_KEY', message: /cannot verify any allowed algorithm \(RS256\)/ })
})

t.test('an RSA publicKey shorter than 2048 bits is refused', async (t) => {
  t.match(await registration({ issuer: ISSUER, publicKey: pem('rsa', { modulusLength: 1024 }).publicPem }), { code: 'MUEJAM_AUTH_INVALID_KEY', message: /shorter than 2048 bits/ })
})

t.test('a key-agreement publicKey (X25519) is refused', async (t) => {
  t.match(await registration({ issuer: ISSUER, publicKey: pem('x25519').publicPem }), { code: 'MUEJAM_AUTH_INVALID_KEY', message: /x25519 key is not supported/ })
})

t.test('valid options register: defaults, an explicit jwksUrl with a URN issuer, or a public key for its algorithm', async (t) => {
  t.equal(await registration({ issuer: ISSUER }), undefined)
  t.equal(await registration({ issuer: ISSUER, claims: 'clerk' }), undefined)
  t.equal(await registration({ issuer: ISSUER, claims: 'oidc' }), undefined)
  t.equal(await registration({ issuer: 'urn:example:issuer', jwksUrl: 'https://keys.example.org/jwks.json' }), undefined)
  t.equal(await registration({ issuer: ISSUER, algorithms: ['ES256'], publicKey: pem('ec').publicPem }), undefined)
  t.equal(await registration({ issuer: ISSUER, algorithms: ['EdDSA'], publicKey: pem('ed25519').publicPem }), undefined)
  t.equal(await registration({ issuer: ISSUER, algorithms: ['RS256', 'RS256', 'PS256'], jwksCooldownMs: 0, clockSkewMs: 0, tokenCacheSize: 0 }), undefined)
})
