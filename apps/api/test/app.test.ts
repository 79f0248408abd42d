import { sql } from 'kysely'
import t from 'tap'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'

t.test('SECURE_SSL_REDIRECT sends plain HTTP to https (health probes excepted) and HSTS over https', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'https'), SECURE_SSL_REDIRECT: 'true', TRUST_PROXY: '127.0.0.1' })
  const plain = await app.inject({ url: '/v1/stories?limit=1', headers: { host: 'api.example.org' } })
  t.equal(plain.statusCode, 308)
  t.equal(plain.headers.location, 'https://api.example.org/v1/stories?limit=1')
  t.equal((await app.inject('/health/live')).statusCode, 200, 'probes are answered over HTTP')
  const secure = await app.inject({ url: '/v1/stories', headers: { 'x-forwarded-proto': 'https' } })
  t.equal(secure.statusCode, 200)
  t.equal(secure.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
})

t.test('CORS answers only the configured origins; every response carries X-Request-Id and security headers', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'cors'), CORS_ORIGINS: 'https://app.example.org' })
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/v1/stories',
    headers: { origin: 'https://app.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.org')
  const foreign = await app.inject({ url: '/v1/stories', headers: { origin: 'https://evil.example.com' } })
  t.equal(foreign.headers['access-control-allow-origin'], undefined)
  t.ok(foreign.headers['x-request-id'])
  t.equal(foreign.headers['x-content-type-options'], 'nosniff')
  t.equal(foreign.headers['strict-transport-security'], undefined, 'no HSTS without SECURE_SSL_REDIRECT')
})

t.test('DEBUG=true (outside production) adds the stack to 5xx bodies', async (t) => {
  const env = await databaseEnv(t, 'debug')
  const app = await build(t, { ...env, DEBUG: 'true' })
  const db = inspectDatabase(t, env.DATABASE_URL)
  await sql`alter table stories add constraint stories_never check (false)`.execute(db)
  const response = await app.inject({ method: 'POST', url: '/v1/stories', headers: authHeaders('user_2abcDebug'), body: { title: 'Refused' } })
  t.equal(response.statusCode, 500)
  t.match(response.json(), { code: 'internal_error', stack: /stories_never/ })
})

t.test('security headers for a JSON API are on every response, errors included; no CORS without origins', async (t) => {
  const app = await build(t, await databaseEnv(t, 'headers'))
  for (const response of [await app.inject('/v1/stories'), await app.inject('/nowhere'), await app.inject('/health/live')]) {
    t.equal(response.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none'")
    t.equal(response.headers['x-frame-options'], 'SAMEORIGIN')
    t.equal(response.headers['referrer-policy'], 'no-referrer')
    t.equal(response.headers['cross-origin-resource-policy'], 'same-origin')
  }
  const preflight = await app.inject({ method: 'OPTIONS', url: '/v1/stories', headers: { origin: 'https://app.example.org', 'access-control-request-method': 'GET' } })
  t.equal(preflight.headers['access-control-allow-origin'], undefined)
})
