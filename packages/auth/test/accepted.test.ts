import { decodeToken, startJwksServer, type TestAlgorithm } from '@muejam/testing/jwks'
import t from 'tap'
import { buildApp, nowS } from './helpers/app.js'

t.test('a valid RS256 Clerk session token is accepted and request.auth names the caller', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  const token = await jwks.sign({ sub: 'user_2abcDEF', sid: 'sess_2abcDEF', v: 2, fva: [0, -1] })
  const response = await get('/required', token)
  t.equal(response.statusCode, 200)
  t.same(response.json().auth, {
    userId: 'user_2abcDEF',
    sessionId: 'sess_2abcDEF',
    claims: decodeToken(token).payload
  })
  t.match(response.json().auth.claims, { iss: jwks.issuer, sub: 'user_2abcDEF', sid: 'sess_2abcDEF', v: 2, fva: [0, -1] })
  t.equal(jwks.fetchCount, 1, 'one JWKS fetch')
})

t.test('request.auth is frozen, claims included, so one cached identity can serve many requests', async (t) => {
  const jwks = await startJwksServer(t)
  let seen: unknown
  const { get } = await buildApp(t, { issuer: jwks.issuer }, {
    before: (app) => app.get('/inspect', { config: { auth: 'required' } }, async (request) => {
      seen = request.auth
      return { ok: true }
    })
  })
  t.equal((await get('/inspect', await jwks.sign({ o: { id: 'org_1', rol: 'admin' } }))).statusCode, 200)
  const auth = seen as { claims: { o: object } }
  t.ok(Object.isFrozen(auth))
  t.ok(Object.isFrozen(auth.claims))
  t.ok(Object.isFrozen(auth.claims.o), 'nested claims too')
})

t.test('the organization comes from Clerk v2 "o.id" or v1 "org_id"', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  const v2 = await get('/required', await jwks.sign({ o: { id: 'org_v2', rol: 'admin', slg: 'acme' } }))
  t.equal(v2.json().auth.orgId, 'org_v2')
  const v1 = await get('/required', await jwks.sign({ org_id: 'org_v1', sid: 'sess_v1' }))
  t.equal(v1.json().auth.orgId, 'org_v1')
  const none = await get('/required', await jwks.sign({ o: { id: '' }, org_id: '', sid: 'sess_none' }))
  t.equal(none.json().auth.orgId, undefined, 'empty ids are no organization')
})

t.test('a token signed by a newly rotated key is accepted after exactly one more JWKS fetch', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 0 })
  t.equal((await get('/required', await jwks.sign())).statusCode, 200)
  t.equal(jwks.fetchCount, 1)
  const rotated = await jwks.rotate()
  const token = await jwks.sign({ sid: 'sess_after_rotation' })
  const response = await get('/required', token)
  t.equal(response.statusCode, 200)
  t.equal(jwks.fetchCount, 2, 'one fetch for the new kid')
  t.equal(app.auth.stats.keys.keys, 2, 'both keys are now known')
  t.equal((await get('/required', await jwks.sign({ sid: 'sess_other' }, { key: rotated }))).statusCode, 200)
  t.equal(jwks.fetchCount, 2, 'no fetch once the new key is cached')
})

t.test('a token exactly within the clock skew is accepted: exp just past, nbf and iat just ahead', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, clockSkewMs: 10_000 })
  t.equal((await get('/required', await jwks.sign({ exp: nowS() - 3 }))).statusCode, 200, 'exp 3 s ago')
  t.equal((await get('/required', await jwks.sign({ nbf: nowS() + 3, sid: 'sess_nbf' }))).statusCode, 200, 'nbf in 3 s')
  t.equal((await get('/required', await jwks.sign({ iat: nowS() + 3, sid: 'sess_iat' }))).statusCode, 200, 'iat in 3 s')
})

t.test('the same token just past exp is refused with no skew', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, clockSkewMs: 0 })
  const response = await get('/required', await jwks.sign({ exp: nowS() - 3 }))
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'token_expired')
})

t.test('optional header members are accepted when absent or in their allowed spelling', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  const cases: Array<[string, Record<string, unknown>]> = [
    ['no typ', { typ: undefined }],
    ['typ "jwt" in lower case', { typ: 'jwt' }],
    ['typ "application/jwt"', { typ: 'application/jwt' }],
    ['no cat (tokens from other OIDC issuers)', { cat: undefined }],
    ['jku, x5u, jwk and x5c that are never read', { jku: 'http://127.0.0.1:1/jwks', x5u: 'http://127.0.0.1:1/x5u', jwk: { kty: 'RSA' }, x5c: ['MIIB'] }]
  ]
  for (const [name, header] of cases) {
    const response = await get('/required', await jwks.sign({ sid: `sess_${name.length}` }, { header }))
    t.equal(response.statusCode, 200, name)
  }
})

t.test('sts "active", a listed azp and a matching aud (string or array) are accepted', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, {
    issuer: jwks.issuer,
    authorizedParties: ['https://app.example.org', 'http://localhost:5173'],
    audience: 'https://api.example.org'
  })
  const azp = 'http://localhost:5173'
  t.equal((await get('/required', await jwks.sign({ sts: 'active', aud: 'https://api.example.org' }, { azp }))).statusCode, 200)
  t.equal((await get('/required', await jwks.sign({ sid: 's2', aud: ['https://other.example.org', 'https://api.example.org'] }, { azp }))).statusCode, 200)
})

t.test('an empty audience or party list means no aud or azp check (how the API maps unset variables)', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, audience: '', authorizedParties: [] })
  t.equal((await get('/required', await jwks.sign({ aud: 'anything' }, { azp: 'https://anywhere.example.org' }))).statusCode, 200)
})

for (const alg of ['RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as TestAlgorithm[]) {
  t.test(`${alg} tokens are accepted when ${alg} is allowed`, async (t) => {
    const jwks = await startJwksServer(t, { alg })
    const { get } = await buildApp(t, { issuer: jwks.issuer, algorithms: [alg] })
    const response = await get('/required', await jwks.sign())
    t.equal(response.statusCode, 200)
    t.equal(response.json().auth.userId, 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC')
  })
}

t.test('an issuer given with a trailing slash (as Auth0 issues) fetches from the same JWKS path and expects iss with the slash', async (t) => {
  const jwks = await startJwksServer(t)
  const issuer = `${jwks.url}/`
  const { app, get } = await buildApp(t, { issuer })
  t.equal(app.auth.issuer, issuer, 'kept exactly as given')
  t.equal((await get('/required', await jwks.sign({ iss: issuer }))).statusCode, 200)
  t.same(jwks.paths, ['/.well-known/jwks.json'], 'no double slash')
  const bare = await get('/required', await jwks.sign({ iss: jwks.url }))
  t.equal(bare.statusCode, 401)
  t.equal(bare.json().code, 'token_invalid_issuer', 'the iss without the slash is another issuer')
  t.equal((await get('/required', await jwks.sign({ iss: `${issuer}/` }))).statusCode, 401, 'and so is one with two')
})

t.test('app.auth.verify checks a token outside a request, with the same rules and errors', async (t) => {
  const jwks = await startJwksServer(t)
  const { app } = await buildApp(t, { issuer: jwks.issuer })
  const auth = await app.auth.verify(await jwks.sign({ sub: 'user_ws' }))
  t.equal(auth.userId, 'user_ws')
  t.equal(app.auth.issuer, jwks.issuer)
  await t.rejects(app.auth.verify(await jwks.sign({ exp: nowS() - 60 })), { statusCode: 401, code: 'token_expired' })
  await t.rejects(app.auth.verify('x'.repeat(9000)), { statusCode: 401, code: 'token_too_large' })
  t.equal(app.auth.stats.failures.token_expired, 0, 'stats count HTTP requests only')
})
