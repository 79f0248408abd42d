import { randomUUID } from 'node:crypto'
import { decodeToken, signToken, startJwksServer, unsignedToken, type JwksServer } from '@muejam/testing/jwks'
import t, { type Test } from 'tap'
import type { AuthOptions } from '../src/index.js'
import { buildApp, nowS, type TestApp } from './helpers/app.js'

const API = 'https://api.example.org'

/**
 * An RFC 9068 access token as Auth0 or Keycloak mint it: `typ: at+jwt`, an audience list, a
 * client id and scopes, and no Clerk claims (`sid`, `sts`, `cat`). `undefined` removes a member.
 */
function accessToken (jwks: JwksServer, issuer: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = nowS()
  return signToken(jwks.currentKey, { typ: 'at+jwt', kid: jwks.currentKey.kid, ...header }, {
    iss: issuer,
    sub: 'auth0|6620f1c3b2a4e5d6f7a8b9c0',
    aud: [API, `${issuer}userinfo`],
    client_id: 'T3xq1N8cQm9pZr2Lw5Yv',
    scope: 'openid profile stories:write',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    ...claims
  })
}

interface Refusal {
  code: string
  claim?: string
  message: string
}

async function refuses (t: Test, target: TestApp, token: string, expected: Refusal): Promise<void> {
  const response = await target.get('/required', token)
  t.equal(response.statusCode, 401, 'status')
  const body = response.json()
  t.equal(body.code, expected.code, 'code')
  t.equal(body.claim, expected.claim, 'claim')
  t.equal(body.detail, expected.message, 'message')
  t.equal(
    response.headers['www-authenticate'],
    `Bearer error="invalid_token", error_description="${expected.message.replace(/"/g, '')}"`,
    'RFC 6750 challenge'
  )
}

t.test('an RFC 9068 access token from an Auth0-like issuer', async (t) => {
  const jwks = await startJwksServer(t)
  // Auth0's issuer ends with a slash, and its tokens' iss does too.
  const issuer = `${jwks.url}/`
  const options: AuthOptions = { issuer, jwksUrl: jwks.jwksUrl, audience: API }
  const oidc = await buildApp(t, { ...options, claims: 'oidc' })
  const clerk = await buildApp(t, options)
  const token = await accessToken(jwks, issuer)

  t.test('is accepted under the oidc policy, with no session id', async (t) => {
    const response = await oidc.get('/required', token)
    t.equal(response.statusCode, 200)
    t.same(response.json().auth, { userId: 'auth0|6620f1c3b2a4e5d6f7a8b9c0', claims: decodeToken(token).payload })
    t.equal(oidc.app.auth.stats.verified, 1)
  })

  t.test('is refused under the clerk policy (the default) for its typ', async (t) => {
    await refuses(t, clerk, token, { code: 'token_invalid_type', message: 'The token type (typ) is not one that is accepted.' })
  })

  t.test('app.auth.verify applies the policy too', async (t) => {
    t.equal((await oidc.app.auth.verify(token)).userId, 'auth0|6620f1c3b2a4e5d6f7a8b9c0')
    await t.rejects(clerk.app.auth.verify(token), { statusCode: 401, code: 'token_invalid_type' })
  })
})

t.test('a Keycloak-like token with typ JWT and no sid', async (t) => {
  const jwks = await startJwksServer(t)
  const issuer = `${jwks.url}/realms/muejam`
  const options: AuthOptions = { issuer, jwksUrl: jwks.jwksUrl }
  const oidc = await buildApp(t, { ...options, claims: 'oidc' })
  const clerk = await buildApp(t, options)
  const token = await accessToken(jwks, issuer, { sub: 'f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d', aud: 'account', azp: 'muejam-web', typ: 'Bearer' }, { typ: 'JWT' })

  t.test('is accepted under oidc; aud is not checked when no audience is configured', async (t) => {
    const response = await oidc.get('/required', token)
    t.equal(response.statusCode, 200)
    t.equal(response.json().auth.userId, 'f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d')
  })

  t.test('is refused under clerk for the missing sid', async (t) => {
    await refuses(t, clerk, token, { code: 'token_missing_claim', claim: 'sid', message: 'The token lacks the required claim "sid".' })
  })
})

t.test('under oidc, a sid the token carries becomes the session id', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, claims: 'oidc' })
  t.equal((await get('/required', await accessToken(jwks, jwks.issuer, { sid: 'e7c1a0f2-session' }))).json().auth.sessionId, 'e7c1a0f2-session')
  t.equal((await get('/required', await accessToken(jwks, jwks.issuer, { sid: 42 }))).json().auth.sessionId, undefined, 'not a string: no session id, and no refusal')
})

t.test('under oidc, typ is a media type compared case-insensitively, with or without "application/"', async (t) => {
  const jwks = await startJwksServer(t)
  const oidc = await buildApp(t, { issuer: jwks.issuer, claims: 'oidc' })
  const clerk = await buildApp(t, { issuer: jwks.issuer })
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt', 'JWT', 'jwt', 'application/jwt', undefined]) {
    const token = await accessToken(jwks, jwks.issuer, { sid: 'sess_typ' }, { typ })
    t.equal((await oidc.get('/required', token)).statusCode, 200, `oidc accepts typ ${String(typ)}`)
    const clerkAccepts = typ === undefined || !typ.toLowerCase().includes('at+')
    t.equal((await clerk.get('/required', token)).statusCode, clerkAccepts ? 200 : 401, `clerk ${clerkAccepts ? 'accepts' : 'refuses'} typ ${String(typ)}`)
  }
  for (const typ of ['id+jwt', 'logout+jwt', 'dpop+jwt', 'secevent+jwt', 'JOSE', 'at+jwt; charset=utf-8', ' at+jwt', 'text/at+jwt', 'application/at+jwt+json', 'at+', 42, ['at+jwt']]) {
    await refuses(t, oidc, await accessToken(jwks, jwks.issuer, {}, { typ }), {
      code: 'token_invalid_type',
      message: 'The token type (typ) is not one that is accepted.'
    })
  }
})

t.test('under oidc, the Clerk-only rules are off: sts and the cat header are not read', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, claims: 'oidc' })
  t.equal((await get('/required', await accessToken(jwks, jwks.issuer, { sts: 'pending' }))).statusCode, 200, 'sts')
  t.equal((await get('/required', await accessToken(jwks, jwks.issuer, {}, { cat: 'cl_NotASessionToken' }))).statusCode, 200, 'cat')
})

t.test('under oidc, every required claim missing or invalid is refused with its exact code and claim', async (t) => {
  const jwks = await startJwksServer(t)
  const issuer = `${jwks.url}/`
  const strict = await buildApp(t, { issuer, jwksUrl: jwks.jwksUrl, claims: 'oidc', audience: API, authorizedParties: ['muejam-web'] })
  const plain = await buildApp(t, { issuer, jwksUrl: jwks.jwksUrl, claims: 'oidc' })
  const withAzp = { azp: 'muejam-web' }
  const cases: Array<[string, TestApp, Record<string, unknown>, Refusal]> = [
    ['iss missing', plain, { iss: undefined }, { code: 'token_missing_claim', claim: 'iss', message: 'The token lacks the required claim "iss".' }],
    ['iss of another issuer', plain, { iss: 'https://evil.example.org/' }, { code: 'token_invalid_issuer', claim: 'iss', message: 'The token was issued by an issuer that is not trusted (iss).' }],
    ['iss without the trailing slash (compared exactly)', plain, { iss: jwks.url }, { code: 'token_invalid_issuer', claim: 'iss', message: 'The token was issued by an issuer that is not trusted (iss).' }],
    ['iss that is not a string', plain, { iss: 42 }, { code: 'token_invalid_issuer', claim: 'iss', message: 'The token was issued by an issuer that is not trusted (iss).' }],
    ['exp missing', plain, { exp: undefined }, { code: 'token_missing_claim', claim: 'exp', message: 'The token lacks the required claim "exp".' }],
    ['exp as a string', plain, { exp: String(nowS() + 300) }, { code: 'token_invalid_claim', claim: 'exp', message: 'The token claim "exp" must be a number of seconds.' }],
    ['exp in the past', plain, { exp: nowS() - 60 }, { code: 'token_expired', claim: 'exp', message: 'The token has expired (exp).' }],
    ['nbf in the future', plain, { nbf: nowS() + 60 }, { code: 'token_not_yet_valid', claim: 'nbf', message: 'The token is not valid yet (nbf).' }],
    ['iat in the future', plain, { iat: nowS() + 60 }, { code: 'token_issued_in_future', claim: 'iat', message: 'The token is issued in the future (iat).' }],
    ['sub missing', plain, { sub: undefined }, { code: 'token_missing_claim', claim: 'sub', message: 'The token lacks the required claim "sub".' }],
    ['sub empty', plain, { sub: '' }, { code: 'token_invalid_claim', claim: 'sub', message: 'The token claim "sub" must be a non-empty string.' }],
    ['sub a number', plain, { sub: 1234 }, { code: 'token_invalid_claim', claim: 'sub', message: 'The token claim "sub" must be a non-empty string.' }],
    ['aud missing while an audience is configured', strict, { aud: undefined, ...withAzp }, { code: 'token_missing_claim', claim: 'aud', message: 'The token lacks the required claim "aud".' }],
    ['aud for another API', strict, { aud: ['https://other.example.org'], ...withAzp }, { code: 'token_invalid_audience', claim: 'aud', message: 'The token was issued for another audience (aud).' }],
    ['azp missing while authorized parties are configured', strict, {}, { code: 'token_missing_claim', claim: 'azp', message: 'The token lacks the required claim "azp".' }],
    ['azp of another client', strict, { azp: 'evil-client' }, { code: 'token_invalid_authorized_party', claim: 'azp', message: 'The token was issued for another party (azp).' }]
  ]
  for (const [name, target, claims, expected] of cases) {
    t.test(name, async (t) => {
      await refuses(t, target, await accessToken(jwks, issuer, claims), expected)
    })
  }
  t.test('the header rules still hold: alg none and crit are refused', async (t) => {
    await refuses(t, plain, unsignedToken({ iss: issuer, sub: 'u', exp: nowS() + 60 }, 'none', { typ: 'at+jwt' }), {
      code: 'token_algorithm_not_allowed',
      message: 'The token is signed with an algorithm that is not accepted (alg).'
    })
    await refuses(t, plain, await accessToken(jwks, issuer, {}, { crit: ['exp-policy'], 'exp-policy': 'strict' }), {
      code: 'token_unsupported_crit',
      message: 'The token requires header extensions (crit) that are not supported.'
    })
  })
  t.test('a token that passes every rule is accepted by both apps', async (t) => {
    t.equal((await plain.get('/required', await accessToken(jwks, issuer))).statusCode, 200)
    t.equal((await strict.get('/required', await accessToken(jwks, issuer, withAzp))).statusCode, 200)
  })
})
