import { startJwksServer } from '@muejam/testing/jwks'
import Fastify from 'fastify'
import t from 'tap'
import auth, { FAILURE_REASONS, type FailureReason } from '../src/index.js'
import { buildApp, nowS } from './helpers/app.js'

t.test('a required route without a token: 401 unauthenticated with the bare challenge (RFC 6750 §3.1)', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  const response = await get('/required')
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'unauthenticated')
  t.equal(response.headers['www-authenticate'], 'Bearer')
  t.equal(jwks.fetchCount, 0)
})

t.test('the realm option appears in every challenge', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, realm: 'muejam "api"' })
  t.equal((await get('/required')).headers['www-authenticate'], 'Bearer realm="muejam api"')
  t.equal(
    (await get('/required', 'garbage')).headers['www-authenticate'],
    'Bearer realm="muejam api", error="invalid_token", error_description="The bearer token is not a well-formed JWT."'
  )
})

t.test('optional and default routes without a token run with request.auth null', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  for (const path of ['/optional', '/default']) {
    const response = await get(path)
    t.equal(response.statusCode, 200, path)
    t.same(response.json(), { auth: null })
  }
})

t.test('optional and default routes with a valid token see the caller', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  for (const path of ['/optional', '/default']) {
    t.equal((await get(path, await jwks.sign())).json().auth.userId, 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC', path)
  }
})

t.test('defaultMode "required" makes routes without config.auth require a token', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer, defaultMode: 'required' })
  t.equal((await get('/default')).statusCode, 401)
  t.equal((await get('/optional')).statusCode, 200, 'an explicit optional route stays optional')
})

t.test('a route with auth: false ignores the Authorization header, valid or not', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  for (const token of ['metrics-token-that-is-not-a-jwt', await jwks.sign()]) {
    const response = await get('/open', token)
    t.equal(response.statusCode, 200)
    t.same(response.json(), { auth: null })
  }
  t.equal(jwks.fetchCount, 0)
})

t.test('another scheme (Basic) counts as no bearer token: anonymous on optional routes, 401 on required ones', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  const basic = { authorization: 'Basic dXNlcjpwYXNz' }
  t.same((await get('/optional', undefined, basic)).json(), { auth: null })
  const response = await get('/required', undefined, basic)
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'unauthenticated')
  t.equal(response.headers['www-authenticate'], 'Bearer')
  t.same((await get('/optional', undefined, { authorization: 'Bearerish abc' })).json(), { auth: null }, 'a scheme that only starts with Bearer')
  t.same((await get('/optional', undefined, { authorization: 'Bear' })).json(), { auth: null })
})

t.test('the Bearer scheme is case-insensitive and tolerates extra spaces or a tab', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  const token = await jwks.sign()
  for (const authorization of [`bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`, `Bearer\t${token}`]) {
    t.equal((await get('/required', undefined, { authorization })).statusCode, 200, JSON.stringify(authorization.slice(0, 9)))
  }
})

t.test('a Bearer header without a token is a malformed token, 401 with invalid_token', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  for (const authorization of ['Bearer', 'Bearer ', 'bearer']) {
    const response = await get('/optional', undefined, { authorization })
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'token_malformed')
    t.match(response.headers['www-authenticate'], /error="invalid_token"/)
  }
})

t.test('onFailure is told the reason of every refused request, and never the token', async (t) => {
  const jwks = await startJwksServer(t)
  const calls: Array<[string, FailureReason]> = []
  const { get } = await buildApp(t, {
    issuer: jwks.issuer,
    onFailure: (request, reason) => { calls.push([request.url, reason]) }
  })
  await get('/required')
  await get('/optional', await jwks.sign({ exp: nowS() - 60 }))
  await get('/optional', await jwks.sign())
  t.same(calls, [['/required', 'unauthenticated'], ['/optional', 'token_expired']])
})

t.test('an onFailure that throws is logged and the client still gets its 401', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, lines } = await buildApp(t, {
    issuer: jwks.issuer,
    onFailure: () => { throw new Error('audit sink down') }
  })
  const response = await get('/required')
  t.equal(response.statusCode, 401)
  t.match(lines.join(''), /@muejam\/auth onFailure threw/)
})

t.test('an onFailure that returns a promise holds the refusal until it settles; an error it rejects with is sent instead, with the headers it set', async (t) => {
  const jwks = await startJwksServer(t)
  class TooManyError extends Error {
    readonly statusCode = 429
    readonly code = 'rate_limited'
  }
  let attempts = 0
  const { get } = await buildApp(t, {
    issuer: jwks.issuer,
    // What a rate limiter does with failed attempts: count each one, refuse past the budget.
    onFailure: async (_request, _reason, reply) => {
      attempts++
      await new Promise((resolve) => setTimeout(resolve, 10))
      reply.header('x-attempts', String(attempts))
      if (attempts > 2) throw new TooManyError('Too many failed attempts.')
    }
  })
  const responses = [await get('/required'), await get('/optional', 'garbage'), await get('/required', 'garbage')]
  t.same(responses.map((response) => response.statusCode), [401, 401, 429])
  t.same(responses.map((response) => response.json().code), ['unauthenticated', 'token_malformed', 'rate_limited'])
  t.same(responses.map((response) => response.headers['x-attempts']), ['1', '2', '3'], 'headers the hook sets reach the client')
  t.equal(responses[2]?.headers['www-authenticate'], undefined, 'the replacement carries none of the refusal\'s headers')
  t.equal((await get('/optional', await jwks.sign())).statusCode, 200, 'a valid token never reaches onFailure')
  t.equal(attempts, 3)
})

t.test('stats.failures counts refusals by reason, every reason starting at 0', async (t) => {
  const jwks = await startJwksServer(t)
  const { get, app } = await buildApp(t, { issuer: jwks.issuer })
  t.same(Object.keys(app.auth.stats.failures).sort(), [...FAILURE_REASONS].sort())
  t.ok(Object.values(app.auth.stats.failures).every((count) => count === 0))
  await get('/required')
  await get('/required')
  await get('/required', 'garbage')
  t.equal(app.auth.stats.failures.unauthenticated, 2)
  t.equal(app.auth.stats.failures.token_malformed, 1)
})

t.test('a hook registered after the plugin (a rate limiter keying by user) sees request.auth in onRequest', async (t) => {
  const jwks = await startJwksServer(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(auth, { issuer: jwks.issuer })
  const seen: Array<string | null> = []
  app.addHook('onRequest', async (request) => {
    seen.push(request.auth?.userId ?? null)
  })
  app.get('/', async () => 'ok')
  await app.inject({ url: '/', headers: { authorization: `Bearer ${await jwks.sign()}` } })
  await app.inject({ url: '/', headers: { authorization: `Bearer ${await jwks.sign()}` } })
  await app.inject({ url: '/' })
  t.same(seen, ['user_2NNEqL2nrIRdJ194ndJqAHwEfxC', 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC', null])
})

t.test('a route with an invalid config.auth fails to register', async (t) => {
  const jwks = await startJwksServer(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(auth, { issuer: jwks.issuer })
  t.throws(
    () => app.get('/bad', { config: { auth: 'yes' as 'required' } }, async () => 'never'),
    { code: 'MUEJAM_AUTH_INVALID_ROUTE_CONFIG', message: /GET \/bad/ }
  )
})

t.test('an unknown path still authenticates a sent token before the 404 (no route information for a bad token)', async (t) => {
  const jwks = await startJwksServer(t)
  const { get } = await buildApp(t, { issuer: jwks.issuer })
  t.equal((await get('/nowhere', 'garbage')).statusCode, 401)
  t.equal((await get('/nowhere')).statusCode, 404)
})
