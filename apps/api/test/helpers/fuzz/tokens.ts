import {
  corruptBase64url, hmacToken, type JwksServer, stripSignature, tamperPayload, tamperSignature, unsignedToken, withPartCount
} from '@muejam/testing/jwks'

/*
 * Authorization headers for the fuzzer: a valid session token for each fuzz user, and
 * garbage and near-valid ones (a real signature over a wrong claim, `alg: none`, an unknown
 * `kid`, truncated, tampered). Signed once, before any case is generated, with a lifetime
 * longer than any run.
 */

export interface TokenChoice {
  name: string
  /** The `authorization` header; undefined sends none. */
  authorization?: string
  /** Index into the fuzz users of the caller a valid token signs in. */
  user?: number
  /** True when a route that reads tokens must refuse it (401, or 429 once an IP's budget is spent). */
  refused: boolean
}

export interface TokenOptions {
  jwks: JwksServer
  audience: string
  /** Clerk user ids; every one already has a profile, so a valid token never creates a row. */
  users: readonly string[]
}

const HOUR_S = 3600

export async function tokenChoices ({ jwks, audience, users }: TokenOptions): Promise<TokenChoice[]> {
  const now = Math.floor(Date.now() / 1000)
  const lifetime = { aud: audience, iat: now, nbf: now - 10, exp: now + 2 * HOUR_S }
  const claimsOf = (overrides: Record<string, unknown> = {}) => jwks.claims({ sub: users[0], ...lifetime, ...overrides })
  const valid = await Promise.all(users.map((sub) => jwks.sign({ sub, ...lifetime })))
  const first = valid[0] as string
  const signed = (overrides: Record<string, unknown>, options?: Parameters<JwksServer['sign']>[1]) => jwks.sign({ sub: users[0], ...lifetime, ...overrides }, options)
  const unpublished = await jwks.addKey({ publish: false })

  const bad: Array<[string, string]> = [
    ['scheme only', 'Bearer'],
    ['empty token', 'Bearer '],
    ['garbage', 'Bearer not-a-token-at-all'],
    ['three empty parts', 'Bearer ..'],
    ['over 8 KiB', `Bearer ${'A'.repeat(9000)}`],
    ['expired', `Bearer ${await signed({ exp: now - HOUR_S, iat: now - 2 * HOUR_S, nbf: now - 2 * HOUR_S })}`],
    ['not yet valid', `Bearer ${await signed({ nbf: now + HOUR_S })}`],
    ['issued in the future', `Bearer ${await signed({ iat: now + HOUR_S })}`],
    ['issuer with a trailing slash', `Bearer ${await signed({ iss: `${jwks.issuer}/` })}`],
    ['another issuer', `Bearer ${await signed({ iss: 'https://issuer.evil.example' })}`],
    ['another audience', `Bearer ${await signed({ aud: `${audience}-other` })}`],
    ['no audience', `Bearer ${await signed({ aud: undefined })}`],
    ['no subject', `Bearer ${await signed({ sub: undefined })}`],
    ['numeric subject', `Bearer ${await signed({ sub: 42 })}`],
    ['no session', `Bearer ${await signed({ sid: undefined })}`],
    ['pending session', `Bearer ${await signed({ sts: 'pending' })}`],
    ['alg none', `Bearer ${unsignedToken(claimsOf())}`],
    ['alg NONE', `Bearer ${unsignedToken(claimsOf(), 'NONE')}`],
    ['HS256 over the public key', `Bearer ${hmacToken(claimsOf(), jwks.currentKey.publicPem, { kid: jwks.currentKey.kid })}`],
    ['ES256, not allowed', `Bearer ${await signed({}, { alg: 'ES256' })}`],
    ['unknown kid', `Bearer ${await signed({}, { kid: 'ins_unknownFuzzKey' })}`],
    ['no kid', `Bearer ${await signed({}, { header: { kid: undefined } })}`],
    ['unpublished key', `Bearer ${await signed({}, { key: unpublished })}`],
    ['typ at+jwt', `Bearer ${await signed({}, { header: { typ: 'at+jwt' } })}`],
    ['crit header', `Bearer ${await signed({}, { header: { crit: ['x-fuzz'], 'x-fuzz': 1 } })}`],
    ['wrong cat', `Bearer ${await signed({}, { header: { cat: 'cl_wrong' } })}`],
    ['truncated', `Bearer ${first.slice(0, -12)}`],
    ['signature stripped', `Bearer ${stripSignature(first)}`],
    ['signature tampered', `Bearer ${tamperSignature(first)}`],
    ['payload tampered', `Bearer ${tamperPayload(first, { sub: users[1] ?? 'user_other' })}`],
    ['two parts', `Bearer ${withPartCount(first, 2)}`],
    ['four parts', `Bearer ${withPartCount(first, 4)}`],
    ['not base64url', `Bearer ${corruptBase64url(first)}`]
  ]
  return [
    { name: 'no token', refused: false },
    ...valid.map((token, user) => ({ name: `valid for ${users[user]}`, authorization: `Bearer ${token}`, user, refused: false })),
    { name: 'valid, lowercase scheme', authorization: `bearer ${first}`, user: 0, refused: false },
    { name: 'valid, two spaces', authorization: `Bearer  ${first}`, user: 0, refused: false },
    { name: 'another scheme', authorization: 'Basic dXNlcjpwYXNzd29yZA==', refused: false },
    ...bad.map(([name, authorization]) => ({ name, authorization, refused: true }))
  ]
}
