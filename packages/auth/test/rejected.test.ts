import { KeyObject, sign } from 'node:crypto'
import {
  base64url,
  corruptBase64url,
  craftToken,
  createTestKey,
  hmacToken,
  signToken,
  startJwksServer,
  stripSignature,
  tamperPayload,
  tamperSignature,
  unsignedToken,
  withPartCount
} from '@muejam/testing/jwks'
import t, { type Test } from 'tap'
import type { FailureReason } from '../src/index.js'
import { buildApp, nowS, type TestApp } from './helpers/app.js'

interface Rejection {
  code: string
  /** For refusals about one claim: the claim named in the problem body and its message. */
  claim?: string
}

// One issuer and two apps for every case; each case is its own test with its exact code.
t.test('tokens that must be refused', async (t) => {
  const jwks = await startJwksServer(t)
  const strict = await buildApp(t, {
    issuer: jwks.issuer,
    authorizedParties: ['https://app.example.org'],
    audience: 'https://api.example.org'
  })
  const plain = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 60_000 })
  // Warm the key cache so that a fetch caused by a case shows in fetchCount.
  t.equal((await plain.get('/required', await jwks.sign())).statusCode, 200)
  t.equal((await strict.get('/required', await jwks.sign({ azp: 'https://app.example.org', aud: 'https://api.example.org' }))).statusCode, 200)

  async function rejects (t: Test, target: TestApp, token: string, expected: Rejection) {
    const fetches = jwks.fetchCount
    const verified = target.app.auth.stats.verified
    const failures = { ...target.app.auth.stats.failures }
    const response = await target.get('/required', token)
    t.equal(response.statusCode, 401, 'status')
    const body = response.json()
    t.equal(body.code, expected.code, 'problem code')
    t.equal(body.claim, expected.claim, 'claim named for claim problems only')
    if (expected.claim !== undefined) t.ok(body.detail.includes(expected.claim), `the message names ${expected.claim}: ${body.detail}`)
    t.match(response.headers['www-authenticate'], /^Bearer error="invalid_token", error_description="[^"]+"$/, 'RFC 6750 challenge')
    t.equal(jwks.fetchCount, fetches, 'no JWKS fetch (the key source is never asked, or fails fast)')
    t.equal(target.app.auth.stats.verified, verified, 'nothing verified')
    const reason = expected.code as FailureReason
    t.same(target.app.auth.stats.failures, { ...failures, [reason]: failures[reason] + 1 }, 'counted once, under its reason only')
  }

  t.test('alg "none" is refused as an algorithm not allowed', async (t) => {
    await rejects(t, plain, unsignedToken(jwks.claims(), 'none', { kid: jwks.currentKey.kid }), { code: 'token_algorithm_not_allowed' })
  })

  t.test('alg "None" is refused as an algorithm not allowed', async (t) => {
    await rejects(t, plain, unsignedToken(jwks.claims(), 'None', { kid: jwks.currentKey.kid }), { code: 'token_algorithm_not_allowed' })
  })

  t.test('alg "NONE" is refused as an algorithm not allowed', async (t) => {
    await rejects(t, plain, unsignedToken(jwks.claims(), 'NONE', { kid: jwks.currentKey.kid }), { code: 'token_algorithm_not_allowed' })
  })

  t.test('alg "none" with a signature attached is refused all the same', async (t) => {
    const token = craftToken({ alg: 'none', kid: jwks.currentKey.kid }, jwks.claims(), 'c2lnbmF0dXJl')
    await rejects(t, plain, token, { code: 'token_algorithm_not_allowed' })
  })

  t.test('HS256 signed with the RSA public key as HMAC secret (algorithm confusion) is refused', async (t) => {
    const token = hmacToken(jwks.claims(), jwks.currentKey.publicPem, { kid: jwks.currentKey.kid })
    await rejects(t, plain, token, { code: 'token_algorithm_not_allowed' })
  })

  t.test('HS256 signed with the JWK form of the public key is refused', async (t) => {
    const token = hmacToken(jwks.claims(), JSON.stringify(jwks.currentKey.publicJwk), { kid: jwks.currentKey.kid })
    await rejects(t, plain, token, { code: 'token_algorithm_not_allowed' })
  })

  t.test('ES256 is refused when only RS256 is allowed, even with a real signature', async (t) => {
    const token = await jwks.sign({}, { alg: 'ES256' })
    await rejects(t, plain, token, { code: 'token_algorithm_not_allowed' })
  })

  t.test('a stripped signature is refused as an invalid signature', async (t) => {
    await rejects(t, plain, stripSignature(await jwks.sign()), { code: 'token_invalid_signature' })
  })

  t.test('an altered signature is refused', async (t) => {
    const token = tamperSignature(await jwks.sign({ sid: 'sess_altered_signature' }))
    const response = await plain.get('/required', token)
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'token_invalid_signature')
  })

  t.test('an altered payload (another user) under the original signature is refused', async (t) => {
    const token = tamperPayload(await jwks.sign({ sid: 'sess_altered_payload' }), { sub: 'user_admin' })
    const response = await plain.get('/required', token)
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'token_invalid_signature')
  })

  t.test('a signature made by a key that is not the published one under that kid is refused', async (t) => {
    const stranger = await createTestKey('RS256')
    const token = await signToken(stranger, { kid: jwks.currentKey.kid, typ: 'JWT' }, jwks.claims({ sid: 'sess_stranger' }))
    const response = await plain.get('/required', token)
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'token_invalid_signature')
  })

  t.test('an expired token is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({ exp: nowS() - 60, iat: nowS() - 120, nbf: nowS() - 120 }), { code: 'token_expired', claim: 'exp' })
  })

  t.test('an nbf in the future beyond the clock skew is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({ nbf: nowS() + 30 }), { code: 'token_not_yet_valid', claim: 'nbf' })
  })

  t.test('an iat in the future beyond the clock skew is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({ iat: nowS() + 30 }), { code: 'token_issued_in_future', claim: 'iat' })
  })

  t.test('a wrong iss is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({ iss: 'https://evil.example.org' }), { code: 'token_invalid_issuer', claim: 'iss' })
  })

  t.test('an iss that differs only by a trailing slash is refused (compared exactly)', async (t) => {
    await rejects(t, plain, await jwks.sign({ iss: `${jwks.issuer}/` }), { code: 'token_invalid_issuer', claim: 'iss' })
  })

  t.test('a missing iss is refused as a missing claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ iss: undefined }), { code: 'token_missing_claim', claim: 'iss' })
  })

  t.test('a missing exp is refused as a missing claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ exp: undefined }), { code: 'token_missing_claim', claim: 'exp' })
  })

  t.test('a missing sub is refused as a missing claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ sub: undefined }), { code: 'token_missing_claim', claim: 'sub' })
  })

  t.test('a missing sid is refused as a missing claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ sid: undefined }), { code: 'token_missing_claim', claim: 'sid' })
  })

  t.test('an empty sub is refused as an invalid claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ sub: '' }), { code: 'token_invalid_claim', claim: 'sub' })
  })

  t.test('a sid that is not a string is refused as an invalid claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ sid: 42 }), { code: 'token_invalid_claim', claim: 'sid' })
  })

  t.test('an exp that is not a number is refused as an invalid claim', async (t) => {
    await rejects(t, plain, await jwks.sign({ exp: String(nowS() + 60) }), { code: 'token_invalid_claim', claim: 'exp' })
  })

  t.test('a wrong azp is refused when authorized parties are configured', async (t) => {
    await rejects(t, strict, await jwks.sign({ aud: 'https://api.example.org' }, { azp: 'https://evil.example.org' }), { code: 'token_invalid_authorized_party', claim: 'azp' })
  })

  t.test('a missing azp is refused when authorized parties are configured', async (t) => {
    await rejects(t, strict, await jwks.sign({ aud: 'https://api.example.org' }), { code: 'token_missing_claim', claim: 'azp' })
  })

  t.test('a wrong aud is refused when an audience is configured', async (t) => {
    await rejects(t, strict, await jwks.sign({ aud: ['https://other.example.org'] }, { azp: 'https://app.example.org' }), { code: 'token_invalid_audience', claim: 'aud' })
  })

  t.test('a missing aud is refused when an audience is configured', async (t) => {
    await rejects(t, strict, await jwks.sign({}, { azp: 'https://app.example.org' }), { code: 'token_missing_claim', claim: 'aud' })
  })

  t.test('typ "at+jwt" (an OAuth access token) is refused under the default clerk policy', async (t) => {
    await rejects(t, plain, await jwks.sign({}, { header: { typ: 'at+jwt' } }), { code: 'token_invalid_type' })
  })

  t.test('a Clerk cat header other than the session category is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({}, { header: { cat: 'cl_NotASessionToken' } }), { code: 'token_invalid_category' })
  })

  t.test('sts "pending" (a session not yet active) is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({ sts: 'pending' }), { code: 'token_session_inactive', claim: 'sts' })
  })

  t.test('a crit header naming an extension we do not understand is refused', async (t) => {
    await rejects(t, plain, await jwks.sign({}, { header: { crit: ['exp-policy'], 'exp-policy': 'strict' } }), { code: 'token_unsupported_crit' })
  })

  t.test('a 2-part token is refused as malformed', async (t) => {
    await rejects(t, plain, withPartCount(await jwks.sign(), 2), { code: 'token_malformed' })
  })

  t.test('a 4-part token is refused as malformed', async (t) => {
    await rejects(t, plain, withPartCount(await jwks.sign(), 4), { code: 'token_malformed' })
  })

  t.test('bad base64url in the payload is refused as malformed', async (t) => {
    await rejects(t, plain, corruptBase64url(await jwks.sign()), { code: 'token_malformed' })
  })

  t.test('bad base64url in the signature is refused as malformed', async (t) => {
    await rejects(t, plain, `${stripSignature(await jwks.sign())}c2ln=`, { code: 'token_malformed' })
  })

  t.test('a part of impossible base64url length is refused as malformed', async (t) => {
    await rejects(t, plain, craftToken({ alg: 'RS256' }, {}, 'abcde').replace(/^[^.]+/, 'abcde'), { code: 'token_malformed' })
  })

  t.test('a header that is not JSON is refused as malformed', async (t) => {
    await rejects(t, plain, `${base64url('not json')}.${base64url(jwks.claims())}.c2ln`, { code: 'token_malformed' })
  })

  t.test('a payload that is a JSON array is refused as malformed', async (t) => {
    await rejects(t, plain, `${base64url({ alg: 'RS256' })}.${base64url([1, 2])}.c2ln`, { code: 'token_malformed' })
  })

  t.test('a header without alg is refused as malformed', async (t) => {
    await rejects(t, plain, craftToken({ typ: 'JWT' }, jwks.claims(), 'c2ln'), { code: 'token_malformed' })
  })

  t.test('garbage that is not a JWT at all is refused as malformed', async (t) => {
    await rejects(t, plain, 'not-a-jwt', { code: 'token_malformed' })
  })

  t.test('a token over 8 KiB is refused as too large, even with a valid signature', async (t) => {
    const token = await jwks.sign({ padding: 'x'.repeat(8192) })
    t.ok(token.length > 8192)
    await rejects(t, plain, token, { code: 'token_too_large' })
  })

  t.test('an unknown kid is refused, with no fetch inside the cooldown', async (t) => {
    await rejects(t, plain, await jwks.sign({}, { kid: 'ins_unknown' }), { code: 'token_unknown_kid' })
  })

  t.test('a token without kid is refused when keys come from a JWKS', async (t) => {
    await rejects(t, plain, await jwks.sign({}, { header: { kid: undefined } }), { code: 'token_missing_kid' })
  })

  t.test('a token whose alg is allowed but not the one its JWK declares is refused', async (t) => {
    const multi = await buildApp(t, { issuer: jwks.issuer, algorithms: ['RS256', 'RS384'] })
    const key = jwks.currentKey
    // A real RS384 signature by the published RS256 key (WebCrypto keys are bound to one hash).
    const input = `${base64url({ alg: 'RS384', kid: key.kid, typ: 'JWT' })}.${base64url(jwks.claims())}`
    const token = `${input}.${sign('sha384', Buffer.from(input), KeyObject.from(key.privateKey)).toString('base64url')}`
    const response = await multi.get('/required', token)
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'token_invalid_signature')
  })

  t.test('an invalid token is refused on an optional route too (a client that sends a token means to be known)', async (t) => {
    const response = await plain.get('/optional', await jwks.sign({ exp: nowS() - 60 }))
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'token_expired')
  })
})
