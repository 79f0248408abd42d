import { startJwksServer } from '@muejam/testing/jwks'
import t from 'tap'
import { buildApp, eventually, nowS, sleep } from './helpers/app.js'

t.test('a repeated token is answered from the cache: verified once, no decoding or signature check again', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer })
  const token = await jwks.sign()
  for (let i = 0; i < 5; i++) t.equal((await get('/required', token)).statusCode, 200)
  t.equal(app.auth.stats.verified, 1)
  t.equal(app.auth.stats.cacheHits, 4)
  t.equal(app.auth.stats.cachedTokens, 1)
})

t.test('a cached token is never served past its exp', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, clockSkewMs: 0 })
  const exp = nowS() + 2
  const token = await jwks.sign({ exp })
  t.equal((await get('/required', token)).statusCode, 200)
  t.equal((await get('/required', token)).statusCode, 200)
  t.equal(app.auth.stats.cacheHits, 1)
  await eventually(() => Date.now() > exp * 1000 + 50, 5000)
  const response = await get('/required', token)
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'token_expired')
  t.equal(app.auth.stats.cachedTokens, 0, 'the expired entry is dropped')
})

t.test('a token accepted only thanks to the clock skew (past exp) is not cached', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, clockSkewMs: 10_000 })
  const token = await jwks.sign({ exp: nowS() - 2 })
  t.equal((await get('/required', token)).statusCode, 200)
  t.equal((await get('/required', token)).statusCode, 200)
  t.equal(app.auth.stats.verified, 2)
  t.equal(app.auth.stats.cachedTokens, 0)
})

t.test('the cache is bounded: the oldest entry makes room', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, tokenCacheSize: 2 })
  const tokens = await Promise.all(['a', 'b', 'c'].map((sid) => jwks.sign({ sid: `sess_${sid}` })))
  for (const token of tokens) await get('/required', token)
  t.equal(app.auth.stats.cachedTokens, 2)
  await get('/required', tokens[2] as string)
  t.equal(app.auth.stats.cacheHits, 1, 'the newest is still cached')
  await get('/required', tokens[0] as string)
  t.equal(app.auth.stats.verified, 4, 'the oldest was evicted and verified again')
})

t.test('tokenCacheSize 0 turns the cache off: every request verifies', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer, tokenCacheSize: 0 })
  const token = await jwks.sign()
  const responses = await Promise.all(Array.from({ length: 3 }, () => get('/required', token)))
  t.ok(responses.every((response) => response.statusCode === 200))
  t.equal(app.auth.stats.verified, 3)
  t.equal(app.auth.stats.cacheHits, 0)
  t.equal(app.auth.stats.cachedTokens, 0)
})

t.test('refused tokens are not cached: the same bad token is refused each time, counted each time', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer })
  const token = await jwks.sign({ iss: 'https://evil.example.org' })
  for (let i = 0; i < 3; i++) t.equal((await get('/required', token)).statusCode, 401)
  t.equal(app.auth.stats.failures.token_invalid_issuer, 3)
  t.equal(app.auth.stats.cachedTokens, 0)
})

t.test('one token shared by concurrent requests while its verification waits on the JWKS: one verification', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer })
  jwks.setHandler((_request, response) => {
    // A slow JWKS, so every request arrives while the first verification is pending.
    setTimeout(() => {
      jwks.setHandler(null)
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ keys: jwks.keys.map((key) => key.publicJwk) }))
    }, 200)
  })
  const token = await jwks.sign()
  const pending = Array.from({ length: 30 }, () => get('/required', token))
  await sleep(50)
  const responses = await Promise.all(pending)
  t.ok(responses.every((response) => response.statusCode === 200))
  t.equal(app.auth.stats.verified, 1)
})
