import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createTestKey, signToken, startJwksServer, type DownMode } from '@muejam/testing/jwks'
import t from 'tap'
import { buildApp, eventually, sleep } from './helpers/app.js'

t.test('jku, x5u, jwk and x5c headers pointing at an attacker are never followed: the attacker gets no request', async (t) => {
  const jwks = await startJwksServer(t)
  const attacker = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 0 })
  const own = attacker.currentKey
  const headers = {
    jku: attacker.jwksUrl,
    x5u: `${attacker.url}/cert.pem`,
    jwk: own.publicJwk,
    x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA']
  }
  // The attacker's key under the attacker's kid, every pointer to the attacker's keys.
  const foreignKid = await signToken(own, { kid: own.kid, typ: 'JWT', ...headers }, jwks.claims())
  const foreign = await get('/required', foreignKid)
  t.equal(foreign.statusCode, 401)
  t.equal(foreign.json().code, 'token_unknown_kid')
  // The attacker's key under the real kid, with its public key embedded as `jwk`.
  const realKid = await signToken(own, { kid: jwks.currentKey.kid, typ: 'JWT', ...headers }, jwks.claims())
  const forged = await get('/required', realKid)
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'token_invalid_signature')
  // An iss naming the attacker's server.
  const wrongIssuer = await get('/required', await signToken(own, { kid: own.kid, ...headers }, attacker.claims()))
  t.equal(wrongIssuer.json().code, 'token_invalid_issuer')
  t.equal(attacker.requestCount, 0, 'the attacker server was never contacted')
  t.ok(jwks.paths.every((path) => path === '/.well-known/jwks.json'), 'only the configured URL is fetched')
})

t.test('200 requests with random kids cause one JWKS fetch per cooldown, even with nothing cached', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 60_000 })
  const tokens = await Promise.all(Array.from({ length: 200 }, () => jwks.sign({}, { kid: `ins_${randomBytes(8).toString('hex')}` })))
  const responses = await Promise.all(tokens.map((token) => get('/required', token)))
  t.equal(jwks.fetchCount, 1, 'one fetch for 200 unknown kids')
  t.ok(responses.every((response) => response.statusCode === 401 && response.json().code === 'token_unknown_kid'))
  t.equal(app.auth.stats.failures.token_unknown_kid, 200)
  // Sequential ones too, after the set is known.
  for (let i = 0; i < 20; i++) await get('/required', await jwks.sign({}, { kid: `ins_late_${i}` }))
  t.equal(jwks.fetchCount, 1)
  t.equal((await get('/required', await jwks.sign())).statusCode, 200, 'the real key still works')
})

t.test('after the cooldown, an unknown kid may cause exactly one more fetch', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 300 })
  await get('/required', await jwks.sign({}, { kid: 'ins_random_1' }))
  t.equal(jwks.fetchCount, 1)
  await sleep(400)
  const second = await Promise.all(Array.from({ length: 20 }, (_, i) => jwks.sign({}, { kid: `ins_random_2_${i}` })))
  await Promise.all(second.map((token) => get('/required', token)))
  t.equal(jwks.fetchCount, 2)
})

t.test('concurrent first requests share one JWKS fetch and one verification', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer })
  const token = await jwks.sign()
  const responses = await Promise.all(Array.from({ length: 50 }, () => get('/required', token)))
  t.ok(responses.every((response) => response.statusCode === 200))
  t.equal(jwks.fetchCount, 1)
  t.equal(app.auth.stats.verified, 1)
})

const outages: DownMode[] = ['refuse', 'hang', 'hang-body', '500', 'html', 'bad-json', 'no-keys', 'redirect']

for (const mode of outages) {
  t.test(`JWKS ${mode}: keys already cached keep verifying new tokens past their TTL`, async (t) => {
    const jwks = await startJwksServer(t)
    const { get, app, lines } = await buildApp(t, { issuer: jwks.issuer, jwksTtlMs: 50, jwksCooldownMs: 0, jwksTimeoutMs: 2000 })
    t.equal((await get('/required', await jwks.sign())).statusCode, 200)
    await jwks.setDown(mode)
    await sleep(100)
    // A token never seen: the cache of verified tokens cannot help, only the cached key.
    const token = await jwks.sign({ sid: 'sess_during_outage' })
    const started = Date.now()
    const response = await get('/required', token)
    t.equal(response.statusCode, 200)
    t.ok(Date.now() - started < 1000, 'served without waiting for the refresh (which may take the 2 s timeout)')
    await eventually(() => app.auth.stats.keys.fetchFailures === 1, 8000)
    t.equal(app.auth.stats.keys.lastFetchOk, false)
    t.match(lines.join(''), /JWKS fetch failed; keeping the keys already cached/)
    t.equal((await get('/required', await jwks.sign({ sid: 'sess_still' }))).statusCode, 200, 'still verifying after the failed refresh')
    if (mode === 'redirect') t.notOk(jwks.paths.includes('/moved/jwks.json'), 'the redirect was not followed')
  })
}

for (const mode of outages) {
  t.test(`JWKS ${mode} with nothing cached: 503 auth_keys_unavailable with Retry-After, within the timeout`, async (t) => {
    const jwks = await startJwksServer(t)
    await jwks.setDown(mode)
    const { get, app } = await buildApp(t, { issuer: jwks.issuer, jwksTimeoutMs: 500, jwksCooldownMs: 10_000 })
    const started = Date.now()
    const response = await get('/required', await jwks.sign())
    const elapsed = Date.now() - started
    t.equal(response.statusCode, 503)
    t.equal(response.json().code, 'auth_keys_unavailable')
    t.equal(response.headers['www-authenticate'], undefined, 'not an authentication failure')
    t.match(response.headers['retry-after'], /^\d+$/)
    t.ok(elapsed < 4000, `answered in ${elapsed} ms, not a hang`)
    // Inside the cooldown: 503 at once, no new fetch.
    const fetches = jwks.fetchCount
    const again = await get('/required', await jwks.sign({ sid: 'sess_again' }))
    t.equal(again.statusCode, 503)
    t.ok(Number(again.headers['retry-after']) >= 1 && Number(again.headers['retry-after']) <= 10)
    t.equal(again.json().retry_after, Number(again.headers['retry-after']))
    t.equal(jwks.fetchCount, fetches)
    t.equal(app.auth.stats.failures.auth_keys_unavailable, 2)
    if (mode === 'redirect') t.notOk(jwks.paths.includes('/moved/jwks.json'), 'the redirect was not followed')
  })
}

t.test('once the JWKS answers again, the next fetch after the cooldown brings the keys back', async (t) => {
  const jwks = await startJwksServer(t)
  await jwks.setDown('500')
  const { get } = await buildApp(t, { issuer: jwks.issuer, jwksCooldownMs: 200 })
  t.equal((await get('/required', await jwks.sign())).statusCode, 503)
  await jwks.setDown(false)
  await sleep(300)
  t.equal((await get('/required', await jwks.sign())).statusCode, 200)
})

t.test('a key removed from the JWKS stops verifying, cached tokens included, within TTL + cooldown', async (t) => {
  const jwks = await startJwksServer(t)
  const ttl = 600
  const cooldown = 200
  const { get } = await buildApp(t, { issuer: jwks.issuer, jwksTtlMs: ttl, jwksCooldownMs: cooldown })
  const old = jwks.currentKey
  const cached = await jwks.sign({ sid: 'sess_cached' })
  const fetchedFrom = Date.now()
  t.equal((await get('/required', cached)).statusCode, 200)
  await jwks.rotate()
  jwks.removeKey(old.kid)
  // Keep traffic coming with the old key, as an attacker holding it would.
  let refusedAt = 0
  const elapsed = await eventually(async () => {
    const status = (await get('/required', await jwks.sign({ sid: 'sess_fresh' }, { key: old }))).statusCode
    refusedAt = Date.now()
    return status === 401
  }, 5000)
  t.ok(elapsed < ttl + cooldown + 2000, `stopped after ${elapsed} ms`)
  t.ok(refusedAt - fetchedFrom >= ttl, 'the cached set served until it went stale')
  t.equal(jwks.fetchCount, 2, 'one refresh found the key gone: no fetch per request')
  const fresh = await get('/required', await jwks.sign({ sid: 'sess_new' }, { key: old }))
  t.equal(fresh.json().code, 'token_unknown_kid')
  t.equal((await get('/required', cached)).statusCode, 401, 'the cached token of the removed key is refused too')
  t.equal((await get('/required', await jwks.sign({ sid: 'sess_rotated' }))).statusCode, 200, 'the new key verifies')
})

t.test('a kid that now names another key: the old key is retired and its tokens refused', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, jwksTtlMs: 50, jwksCooldownMs: 0 })
  const original = jwks.currentKey
  const cached = await jwks.sign()
  t.equal((await get('/required', cached)).statusCode, 200)
  const replacement = await createTestKey('RS256', original.kid)
  jwks.setDocument({ keys: [replacement.publicJwk] })
  await sleep(100)
  await get('/required', cached) // past the TTL: starts the refresh
  await eventually(async () => (await get('/required', cached)).statusCode === 401, 5000)
  t.equal((await get('/required', cached)).json().code, 'token_invalid_signature')
  t.equal((await get('/required', await signToken(replacement, { kid: original.kid }, jwks.claims()))).statusCode, 200)
})

t.test('keys stop verifying once every refresh has failed for longer than jwksMaxStaleMs', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, jwksTtlMs: 50, jwksCooldownMs: 50, jwksMaxStaleMs: 400 })
  const token = await jwks.sign()
  t.equal((await get('/required', token)).statusCode, 200)
  await jwks.setDown('500')
  await sleep(100)
  t.equal((await get('/required', await jwks.sign({ sid: 'sess_stale' }))).statusCode, 200, 'stale key still in use')
  await sleep(500)
  const late = await get('/required', await jwks.sign({ sid: 'sess_too_stale' }))
  t.equal(late.statusCode, 503)
  t.equal(late.json().code, 'auth_keys_unavailable')
  t.equal((await get('/required', token)).statusCode, 503, 'the cached token is not served past the stale limit either')
  t.ok(app.auth.stats.keys.fetchFailures >= 1)
})

t.test('a cached token whose key is past its TTL is still served while the refresh runs', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, jwksTtlMs: 50, jwksCooldownMs: 0 })
  const token = await jwks.sign()
  t.equal((await get('/required', token)).statusCode, 200)
  await sleep(100)
  t.equal((await get('/required', token)).statusCode, 200)
  t.equal(app.auth.stats.cacheHits, 1)
  await eventually(() => jwks.fetchCount === 2, 5000)
  t.equal((await get('/required', token)).statusCode, 200)
  t.equal(app.auth.stats.verified, 1, 'never verified again')
})

t.test('JWKS members that cannot verify are skipped and logged; the usable ones still serve', async (t) => {
  const jwks = await startJwksServer(t)
  const good = jwks.currentKey
  const ec = await createTestKey('ES256', 'ins_ec')
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
  const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' })
  const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' })
  const twin = await createTestKey('RS256', good.kid)
  const rsa = good.publicJwk as Record<string, unknown>
  jwks.setDocument({
    keys: [
      good.publicJwk,
      twin.publicJwk, // a second key under the same kid
      null,
      ['not', 'a', 'key'],
      { ...rsa, kid: undefined },
      { ...rsa, kid: 'ins_enc', use: 'enc' },
      { ...rsa, kid: 'ins_ops', key_ops: ['encrypt'] },
      { ...rsa, kid: 'ins_alg', alg: 42 },
      { ...rsa, kid: 'ins_rs384', alg: 'RS384' },
      { kty: 'RSA', kid: 'ins_garbage', n: rsa.n }, // no exponent
      { kty: 'oct', kid: 'ins_oct', k: 'c2VjcmV0' },
      { ...weak, kid: 'ins_weak' },
      { ...k256, kid: 'ins_k256' },
      { ...x25519, kid: 'ins_x25519' },
      ec.publicJwk,
      { ...rsa, kid: 'ins_with_d', d: 'ignored' }
    ]
  })
  const { get, app, lines } = await buildApp(t, { issuer: jwks.issuer })
  t.equal((await get('/required', await jwks.sign())).statusCode, 200)
  t.equal(app.auth.stats.keys.keys, 2, 'the good key and the public part of the one carrying d')
  const log = lines.find((line) => line.includes('JWKS members skipped'))
  t.ok(log)
  const skipped = JSON.parse(log as string).skipped as string[]
  t.same(skipped, [
    'duplicate kid ' + good.kid,
    'not an object',
    'not an object',
    'no kid',
    'use is enc',
    'key_ops lacks verify',
    'alg is not a string',
    'a rsa key for RS384 cannot verify any allowed algorithm (RS256)',
    'not a valid public JWK',
    'not a valid public JWK',
    'an RSA key shorter than 2048 bits is not supported',
    'an EC key on an unsupported curve (secp256k1) is not supported',
    'a x25519 key is not supported',
    'a ec key for ES256 cannot verify any allowed algorithm (RS256)'
  ])
  t.equal((await get('/required', await jwks.sign({ sid: 'sess_d' }, { kid: 'ins_with_d' }))).statusCode, 200)
})

t.test('an oversized JWKS answer is refused, declared or streamed', async (t) => {
  const jwks = await startJwksServer(t)
  const huge = JSON.stringify({ keys: [], padding: 'x'.repeat(300 * 1024) })
  for (const chunked of [false, true]) {
    jwks.setHandler((_request, response) => {
      response.writeHead(200, chunked ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(huge) })
      response.end(huge)
    })
    const { get, lines } = await buildApp(t, { issuer: jwks.issuer })
    t.equal((await get('/required', await jwks.sign())).statusCode, 503)
    t.match(lines.join(''), /larger than 262144 bytes/)
  }
})

t.test('a JWKS connection cut mid-answer is a failed fetch', async (t) => {
  const jwks = await startJwksServer(t)
  jwks.setHandler((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.write('{"keys":[')
    setTimeout(() => response.socket?.destroy(), 20)
  })
  const { get, lines } = await buildApp(t, { issuer: jwks.issuer })
  t.equal((await get('/required', await jwks.sign())).statusCode, 503)
  t.match(lines.join(''), /reading the answer failed/)
})

t.test('the failure reasons logged for each kind of JWKS outage say what went wrong', async (t) => {
  const expected: Array<[DownMode, RegExp]> = [
    ['refuse', /request failed \(ECONNREFUSED\)/],
    ['hang', /no answer within 200 ms/],
    ['hang-body', /no complete answer within 200 ms/],
    ['500', /answered 500/],
    ['html', /answered text\/html, not JSON/],
    ['bad-json', /a body that is not JSON/],
    ['no-keys', /without a \\"keys\\" array/],
    ['redirect', /answered 302 \(redirects are not followed\)/]
  ]
  for (const [mode, reason] of expected) {
    const jwks = await startJwksServer(t)
    await jwks.setDown(mode)
    const { get, lines } = await buildApp(t, { issuer: jwks.issuer, jwksTimeoutMs: 200 })
    await get('/required', await jwks.sign())
    t.match(lines.join(''), reason, String(mode))
  }
})

t.test('a JWKS answer without a content type is not JSON', async (t) => {
  const jwks = await startJwksServer(t)
  jwks.setHandler((_request, response) => {
    response.removeHeader('content-type')
    response.end('{"keys":[]}')
  })
  const { get, lines } = await buildApp(t, { issuer: jwks.issuer })
  t.equal((await get('/required', await jwks.sign())).statusCode, 503)
  t.match(lines.join(''), /answered no content type, not JSON/)
})

t.test('closing the app aborts a JWKS fetch in flight, quietly', async (t) => {
  const jwks = await startJwksServer(t)
  await jwks.setDown('hang')
  const { get, app, lines } = await buildApp(t, { issuer: jwks.issuer, jwksTimeoutMs: 30_000 })
  const pending = get('/required', await jwks.sign())
  await eventually(() => jwks.fetchCount === 1, 5000)
  const started = Date.now()
  await app.close()
  const response = await pending
  t.equal(response.statusCode, 503)
  t.ok(Date.now() - started < 5000)
  t.notMatch(lines.join(''), /JWKS fetch failed/)
})
