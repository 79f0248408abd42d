import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startJwksServer } from '@muejam/testing/jwks'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { authHeaders, signToken } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { rowCounts } from './helpers/stories.js'

const PUBLIC_URL = 'https://api.example.org'

/** Sends one GET with this exact request target over a real socket (inject would parse it first). */
async function rawGet (app: FastifyInstance, target: string, headers: Record<string, string> = {}): Promise<{ status: number, location: string | undefined }> {
  const address = app.server.address() as AddressInfo | null
  const port = address?.port ?? (await app.listen({ host: '127.0.0.1', port: 0 }), (app.server.address() as AddressInfo).port)
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: target, headers, agent: false }, (response) => {
      response.resume()
      resolve({ status: response.statusCode ?? 0, location: response.headers.location })
    })
    request.on('error', reject)
    request.end()
  })
}

t.test('SECURE_SSL_REDIRECT sends plain HTTP to PUBLIC_URL (health probes excepted) and HSTS over https', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'https'), SECURE_SSL_REDIRECT: 'true', TRUST_PROXY: '127.0.0.1', PUBLIC_URL })
  const plain = await app.inject({ url: '/v1/stories?limit=1', headers: { host: 'api.example.org' } })
  t.equal(plain.statusCode, 308)
  t.equal(plain.headers.location, 'https://api.example.org/v1/stories?limit=1')
  t.equal((await app.inject('/health/live')).statusCode, 200, 'probes are answered over HTTP')
  const secure = await app.inject({ url: '/v1/stories', headers: { 'x-forwarded-proto': 'https' } })
  t.equal(secure.statusCode, 200)
  t.equal(secure.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
})

t.test('the redirect goes to PUBLIC_URL whatever Host or X-Forwarded-Host a client sends, trusted proxy or not', async (t) => {
  const env = await databaseEnv(t, 'redirect_hosts')
  const behindProxy = await build(t, { ...env, SECURE_SSL_REDIRECT: 'true', TRUST_PROXY: '127.0.0.1', PUBLIC_URL })
  const direct = await build(t, { ...env, SECURE_SSL_REDIRECT: 'true', PUBLIC_URL })
  const hostile = [
    { host: 'evil.example' },
    { host: 'api.example.org', 'x-forwarded-host': 'evil.example' },
    { host: 'evil.example', 'x-forwarded-host': 'evil.example:443', 'x-forwarded-proto': 'http' },
    { host: 'api.example.org@evil.example' }
  ]
  for (const [name, app] of [['trusted proxy', behindProxy], ['no trusted proxy', direct]] as const) {
    for (const headers of hostile) {
      const response = await app.inject({ url: '/v1/stories?limit=1', headers })
      t.equal(response.statusCode, 308, `${name}: ${JSON.stringify(headers)}`)
      t.equal(response.headers.location, 'https://api.example.org/v1/stories?limit=1', `${name}: ${JSON.stringify(headers)}`)
    }
  }
})

t.test('a request path cannot turn the redirect into another host: // and \\ paths, absolute-form targets', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'redirect_paths'), SECURE_SSL_REDIRECT: 'true', PUBLIC_URL })
  const cases: Array<[string, string]> = [
    ['//evil.example/x', 'https://api.example.org//evil.example/x'],
    ['//evil.example', 'https://api.example.org//evil.example'],
    ['/\\evil.example/x', 'https://api.example.org//evil.example/x'],
    ['/%2F%2Fevil.example', 'https://api.example.org/%2F%2Fevil.example'],
    ['/v1/stories/../../@evil.example', 'https://api.example.org/@evil.example'],
    ['http://evil.example/x', 'https://api.example.org/'],
    ['/caf%C3%A9?next=//evil.example', 'https://api.example.org/caf%C3%A9?next=//evil.example']
  ]
  for (const [target, location] of cases) {
    const response = await rawGet(app, target, { host: 'evil.example' })
    t.equal(response.status, 308, target)
    t.equal(response.location, location, target)
    // As a browser resolves it, relative to the page that was asked for.
    t.equal(new URL(response.location ?? '', 'http://evil.example/').host, 'api.example.org', `${target} stays on PUBLIC_URL`)
  }
})

t.test('PUBLIC_URL is the OpenAPI servers entry', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'servers'), PUBLIC_URL: 'https://api.example.org:8443' })
  const document = (await app.inject('/docs/json')).json()
  t.same(document.servers, [{ url: 'https://api.example.org:8443' }])
})

t.test('auth-failure audit lines are limited per IPv6 /64, as the rate limiter counts clients', async (t) => {
  const logs: Array<Record<string, unknown>> = []
  const app = await build(t, await databaseEnv(t, 'audit_ipv6'), { logs })
  const forged = { authorization: `Bearer ${signToken('user_2abcAuditV6', { exp: 1_700_000_600, iat: 1_700_000_000, nbf: 1_700_000_000 })}` }
  const neighbours = ['2001:db8:40:1::1', '2001:db8:40:1:ffff:ffff:ffff:fffe']
  const sent = []
  for (let i = 0; i < 8; i++) sent.push(await app.inject({ url: '/v1/me', headers: forged, remoteAddress: neighbours[i % 2] }))
  sent.push(await app.inject({ url: '/v1/me', headers: forged, remoteAddress: '2001:db8:40:2::1' }))
  t.same(sent.map((response) => response.statusCode), Array(9).fill(401))
  const ids = sent.map((response) => response.headers['x-request-id'])
  const written = logs.filter((line) => line.event === 'auth.failed').map((line) => line.request_id)
  t.same(written, [...ids.slice(0, 5), ids[8]], 'one budget of 5 lines for both addresses of the /64; the next /64 is another client')
  await app.close()
  t.match(logs.find((line) => line.event === 'audit.suppressed'), { target: 'ip:2001:db8:40:1::/64', suppressed: 3 })
})

t.test('an AUTH_ISSUER with a trailing slash is kept: tokens whose iss has the slash are accepted, keys come from <issuer>/.well-known/jwks.json', async (t) => {
  const env = await databaseEnv(t, 'issuer_slash')
  const db = inspectDatabase(t, env.DATABASE_URL)
  const jwks = await startJwksServer(t)
  const issuer = `${jwks.url}/`
  const app = await build(t, { ...env, AUTH_ISSUER: issuer, AUTH_JWT_KEY: '' })
  const accepted = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${await jwks.sign({ iss: issuer, sub: 'user_2abcSlash' })}` } })
  t.equal(accepted.statusCode, 200)
  t.equal(accepted.json().user_id, 'user_2abcSlash')
  t.same(jwks.paths, ['/.well-known/jwks.json'], 'one fetch, no double slash')
  const before = await rowCounts(db)
  const bare = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${await jwks.sign({ iss: jwks.url, sub: 'user_2abcNoSlash' })}` } })
  t.equal(bare.statusCode, 401)
  t.equal(bare.json().code, 'token_invalid_issuer', 'the issuer is compared exactly')
  t.same(await rowCounts(db), before, 'the refused token created no profile')
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
