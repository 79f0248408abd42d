import problem, { isProblemError } from '@muejam/problem'
import { startJwksServer, type JwksServer } from '@muejam/testing/jwks'
import t, { type Test } from 'tap'
import { InvalidOptionError, isAuthError, type AuthOptions } from '../src/index.js'
import { buildApp, nowS, type TestApp } from './helpers/app.js'

const API = 'https://api.example.org'
const APP = 'https://app.example.org'

interface ClaimCase {
  name: string
  claims: Record<string, unknown>
  sign?: { azp?: string }
  code: string
  claim: string
  message: string
}

/** One refusal per claim rule, each with the message a client sees under any error handler. */
const CLAIM_CASES: ClaimCase[] = [
  { name: 'iss missing', claims: { iss: undefined }, code: 'token_missing_claim', claim: 'iss', message: 'The token lacks the required claim "iss".' },
  { name: 'iss of another issuer', claims: { iss: 'https://evil.example.org' }, code: 'token_invalid_issuer', claim: 'iss', message: 'The token was issued by an issuer that is not trusted (iss).' },
  { name: 'exp missing', claims: { exp: undefined }, code: 'token_missing_claim', claim: 'exp', message: 'The token lacks the required claim "exp".' },
  { name: 'exp not a number', claims: { exp: 'tomorrow' }, code: 'token_invalid_claim', claim: 'exp', message: 'The token claim "exp" must be a number of seconds.' },
  { name: 'exp passed', claims: { exp: nowS() - 60 }, code: 'token_expired', claim: 'exp', message: 'The token has expired (exp).' },
  { name: 'nbf ahead', claims: { nbf: nowS() + 60 }, code: 'token_not_yet_valid', claim: 'nbf', message: 'The token is not valid yet (nbf).' },
  { name: 'iat ahead', claims: { iat: nowS() + 60 }, code: 'token_issued_in_future', claim: 'iat', message: 'The token is issued in the future (iat).' },
  { name: 'sub missing', claims: { sub: undefined }, code: 'token_missing_claim', claim: 'sub', message: 'The token lacks the required claim "sub".' },
  { name: 'sub empty', claims: { sub: '' }, code: 'token_invalid_claim', claim: 'sub', message: 'The token claim "sub" must be a non-empty string.' },
  { name: 'sid missing', claims: { sid: undefined }, code: 'token_missing_claim', claim: 'sid', message: 'The token lacks the required claim "sid".' },
  { name: 'sid not a string', claims: { sid: 7 }, code: 'token_invalid_claim', claim: 'sid', message: 'The token claim "sid" must be a non-empty string.' },
  { name: 'sts pending', claims: { sts: 'pending' }, code: 'token_session_inactive', claim: 'sts', message: 'The token session is not active (sts).' },
  { name: 'azp missing', claims: {}, sign: {}, code: 'token_missing_claim', claim: 'azp', message: 'The token lacks the required claim "azp".' },
  { name: 'azp of another party', claims: {}, sign: { azp: 'https://evil.example.org' }, code: 'token_invalid_authorized_party', claim: 'azp', message: 'The token was issued for another party (azp).' },
  { name: 'aud missing', claims: { aud: undefined }, code: 'token_missing_claim', claim: 'aud', message: 'The token lacks the required claim "aud".' },
  { name: 'aud of another API', claims: { aud: 'https://evil.example.org' }, code: 'token_invalid_audience', claim: 'aud', message: 'The token was issued for another audience (aud).' }
]

function options (jwks: JwksServer): AuthOptions {
  return { issuer: jwks.issuer, audience: API, authorizedParties: [APP] }
}

function tokenFor (jwks: JwksServer, test: ClaimCase): Promise<string> {
  return jwks.sign({ aud: API, ...test.claims }, test.sign ?? { azp: APP })
}

/** Nothing of the token, and none of the values it carried, is echoed back. */
function echoesNothing (t: Test, response: Awaited<ReturnType<TestApp['get']>>, token: string): void {
  const echoed = JSON.stringify(response.headers) + response.body
  for (const part of token.split('.')) t.notOk(echoed.includes(part.slice(0, 16)), 'no token segment in the answer')
  t.notOk(echoed.includes('evil'), 'no claim value in the answer')
}

t.test('under Fastify\'s default error handler, every 401 names the failing claim in its message', async (t) => {
  const jwks = await startJwksServer(t)
  const target = await buildApp(t, options(jwks), { defaultErrorHandler: true })
  for (const test of CLAIM_CASES) {
    t.test(test.name, async (t) => {
      const token = await tokenFor(jwks, test)
      const response = await target.get('/required', token)
      t.equal(response.statusCode, 401)
      t.same(response.json(), { statusCode: 401, code: test.code, error: 'Unauthorized', message: test.message }, 'the whole body')
      t.equal(
        response.headers['www-authenticate'],
        `Bearer error="invalid_token", error_description="${test.message.replace(/"/g, '')}"`,
        'the challenge names the claim too, with no quote inside the quoted string'
      )
      echoesNothing(t, response, token)
    })
  }
})

t.test('under a problem-style handler, the claim is a member of the body as well', async (t) => {
  const jwks = await startJwksServer(t)
  const target = await buildApp(t, options(jwks))
  for (const test of CLAIM_CASES) {
    t.test(test.name, async (t) => {
      const token = await tokenFor(jwks, test)
      const response = await target.get('/required', token)
      t.equal(response.statusCode, 401)
      t.same(response.json(), { status: 401, code: test.code, detail: test.message, claim: test.claim })
      echoesNothing(t, response, token)
    })
  }
})

t.test('under the @muejam/problem renderer as the API registers it, the 401 is a problem naming the claim', async (t) => {
  const jwks = await startJwksServer(t)
  const target = await buildApp(t, options(jwks), {
    defaultErrorHandler: true,
    before: (app) => app.register(problem, { typeBase: 'urn:muejam:problem:' })
  })
  for (const test of CLAIM_CASES) {
    t.test(test.name, async (t) => {
      const token = await tokenFor(jwks, test)
      const response = await target.get('/required', token)
      t.equal(response.statusCode, 401)
      t.match(response.headers['content-type'], /^application\/problem\+json/)
      t.same(response.json(), {
        type: `urn:muejam:problem:${test.code}`,
        title: 'Unauthorized',
        status: 401,
        detail: test.message,
        instance: '/required',
        code: test.code,
        request_id: response.json().request_id,
        claim: test.claim
      })
      t.equal(response.headers['www-authenticate'], `Bearer error="invalid_token", error_description="${test.message.replace(/"/g, '')}"`)
      echoesNothing(t, response, token)
    })
  }
  t.test('no token on a required route: the bare challenge and no claim', async (t) => {
    const response = await target.get('/required')
    t.equal(response.headers['www-authenticate'], 'Bearer')
    t.match(response.json(), { status: 401, code: 'unauthenticated', detail: 'This route requires a bearer token.' })
    t.equal(response.json().claim, undefined)
  })
  t.test('no usable key: 503 with Retry-After and retry_after', async (t) => {
    const down = await startJwksServer(t)
    await down.setDown('500')
    const isolated = await buildApp(t, { issuer: down.issuer }, {
      defaultErrorHandler: true,
      before: (app) => app.register(problem, { typeBase: 'urn:muejam:problem:' })
    })
    const response = await isolated.get('/required', await down.sign())
    t.equal(response.statusCode, 503)
    t.match(response.headers['retry-after'], /^\d+$/)
    t.match(response.json(), { status: 503, code: 'auth_keys_unavailable', retry_after: Number(response.headers['retry-after']) })
  })
})

t.test('the error carries the claim as a field and in extensions; refusals about no claim carry neither', async (t) => {
  const jwks = await startJwksServer(t)
  const { app } = await buildApp(t, options(jwks))
  for (const test of CLAIM_CASES) {
    const error = await app.auth.verify(await tokenFor(jwks, test)).then(() => undefined, (refusal: unknown) => refusal)
    t.match(error, { name: 'AuthError', statusCode: 401, code: test.code, message: test.message, claim: test.claim, extensions: { claim: test.claim } }, test.name)
  }
  const malformed = await app.auth.verify('garbage').then(() => undefined, (refusal: unknown) => refusal) as Record<string, unknown>
  t.match(malformed, { statusCode: 401, code: 'token_malformed', message: 'The bearer token is not a well-formed JWT.' })
  t.equal(malformed.claim, undefined)
  t.equal(malformed.extensions, undefined)
})

t.test('header refusals name the header parameter in the message, and no claim', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer }, { defaultErrorHandler: true })
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ typ: 'at+jwt' }, 'token_invalid_type', 'The token type (typ) is not one that is accepted.'],
    [{ cat: 'cl_other' }, 'token_invalid_category', 'The token is not a session token (cat).'],
    [{ kid: undefined }, 'token_missing_kid', 'The token names no signing key (kid).'],
    [{ crit: ['exp-policy'], 'exp-policy': 'strict' }, 'token_unsupported_crit', 'The token requires header extensions (crit) that are not supported.']
  ]
  for (const [header, code, message] of cases) {
    const response = await get('/required', await jwks.sign({}, { header }))
    t.same(response.json(), { statusCode: 401, code, error: 'Unauthorized', message }, code)
  }
})

t.test('refusals meet the @muejam/problem contract, and isAuthError tells them from other errors', async (t) => {
  const jwks = await startJwksServer(t)
  const { app } = await buildApp(t, { issuer: jwks.issuer, jwksTimeoutMs: 200 })
  const refusal = await app.auth.verify(await jwks.sign({ sub: undefined })).catch((error: unknown) => error)
  t.ok(isProblemError(refusal), 'a 401 is a problem error')
  t.ok(isAuthError(refusal))
  t.ok(refusal instanceof Error)
  await jwks.setDown('500')
  const unavailable = await app.auth.verify(await jwks.sign({}, { kid: 'ins_unknown' })).catch((error: unknown) => error)
  t.ok(isProblemError(unavailable), 'a 503 is a problem error')
  t.ok(isAuthError(unavailable))
  t.match(unavailable, { name: 'AuthError', statusCode: 503, code: 'auth_keys_unavailable', headers: { 'retry-after': /^\d+$/ }, extensions: { retry_after: Number } })
  t.notOk(isAuthError(new Error('other')))
  t.notOk(isAuthError({ statusCode: 401, code: 'token_expired', message: 'look-alike' }))
  t.notOk(isAuthError(new InvalidOptionError('issuer', 'is required')))
})

t.test('InvalidOptionError is the package\'s coded TypeError, with one signature', async (t) => {
  const error = new InvalidOptionError('claims', 'must be one of "clerk", "oidc"')
  t.ok(error instanceof TypeError)
  t.match(error, { code: 'MUEJAM_AUTH_INVALID_OPTION', statusCode: 500, message: 'Invalid @muejam/auth option "claims": must be one of "clerk", "oidc"' })
})
