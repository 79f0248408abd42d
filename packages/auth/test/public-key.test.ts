import { createTestKey, signToken, startJwksServer } from '@muejam/testing/jwks'
import t from 'tap'
import { buildApp } from './helpers/app.js'

t.test('with publicKey (AUTH_JWT_KEY), tokens verify with no network access at all', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, publicKey: jwks.currentKey.publicPem, jwksUrl: jwks.jwksUrl })
  const response = await get('/required', await jwks.sign())
  t.equal(response.statusCode, 200)
  t.equal(response.json().auth.userId, 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC')
  t.equal(jwks.requestCount, 0, 'the JWKS URL is never contacted')
  t.match(app.auth.stats.keys, { source: 'public_key', keys: 1, fetches: 0 })
})

t.test('with publicKey, a token without kid or with any kid verifies: the key is not chosen by the token', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, publicKey: jwks.currentKey.publicPem })
  t.equal((await get('/required', await jwks.sign({}, { header: { kid: undefined } }))).statusCode, 200)
  t.equal((await get('/required', await jwks.sign({ sid: 'sess_kid' }, { kid: 'ins_whatever' }))).statusCode, 200)
})

t.test('with publicKey, a token signed by any other key is refused as an invalid signature', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, publicKey: jwks.currentKey.publicPem })
  const other = await createTestKey('RS256')
  const response = await get('/required', await signToken(other, { kid: jwks.currentKey.kid, typ: 'JWT' }, jwks.claims()))
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'token_invalid_signature')
})

t.test('with an EC publicKey, ES256 tokens verify when ES256 is the allowed algorithm', async (t) => {
  const jwks = await startJwksServer(t, { alg: 'ES256' })
  const { get } = await buildApp(t, { issuer: jwks.issuer, algorithms: ['ES256'], publicKey: jwks.currentKey.publicPem })
  t.equal((await get('/required', await jwks.sign())).statusCode, 200)
})
