import { randomBytes } from 'node:crypto'
import { ConfigError } from '@muejam/config'
import { startSentryIngest } from '@muejam/testing/sentry-ingest'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { loadApiConfig } from '../src/config/index.js'
import { build, databaseEnv } from './helpers/build.js'
import { claimRedisDatabase } from './helpers/redis.js'

const VITE = 'http://localhost:5173'

function preflight (app: FastifyInstance, origin: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'OPTIONS',
    url: '/v1/stories',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type', ...headers }
  })
}

t.test('in development a front end on any localhost or 127.0.0.1 port gets its preflight granted', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'cors_development'), NODE_ENV: 'development' })
  const granted = await preflight(app, VITE)
  t.equal(granted.statusCode, 204)
  t.equal(granted.headers['access-control-allow-origin'], VITE)
  t.equal(granted.headers['access-control-allow-methods'], 'GET, POST, PATCH, DELETE')
  t.equal(granted.headers['access-control-allow-headers'], 'authorization, content-type, x-request-id, if-match, if-none-match, traceparent, tracestate, baggage')
  t.match(granted.headers.vary, /Origin/)
  for (const origin of ['http://127.0.0.1:8080', 'http://localhost', 'http://localhost:3001']) {
    t.equal((await preflight(app, origin)).headers['access-control-allow-origin'], origin, `${origin} is granted`)
  }
  const read = await app.inject({ url: '/v1/stories', headers: { origin: VITE } })
  t.equal(read.statusCode, 200)
  t.equal(read.headers['access-control-allow-origin'], VITE, 'the actual request is granted too')
  for (const origin of ['https://localhost:5173', 'http://localhost.evil.example:5173', 'http://evil.example/http://localhost:5173', 'http://127.0.0.2:5173', 'http://[::1]:5173', 'null']) {
    const refused = await preflight(app, origin)
    t.equal(refused.headers['access-control-allow-origin'], undefined, `${origin} is not granted`)
  }
})

t.test('an explicit CORS_ORIGINS replaces the development default', async (t) => {
  const app = await build(t, { ...await databaseEnv(t, 'cors_explicit'), NODE_ENV: 'development', CORS_ORIGINS: 'https://app.example.org,http://localhost:4000' })
  t.equal((await preflight(app, 'https://app.example.org')).headers['access-control-allow-origin'], 'https://app.example.org')
  t.equal((await preflight(app, 'http://localhost:4000')).headers['access-control-allow-origin'], 'http://localhost:4000')
  const vite = await preflight(app, VITE)
  t.equal(vite.headers['access-control-allow-origin'], undefined, 'no grant for the default any more')
})

t.test('in production nothing changes: no grant for a local front end', async (t) => {
  const ingest = await startSentryIngest(t)
  const redis = await claimRedisDatabase(t, 'cors_production')
  const app = await build(t, {
    ...await databaseEnv(t, 'cors_production'),
    NODE_ENV: 'production',
    SECRET_KEY: randomBytes(48).toString('base64url'),
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    SENTRY_DSN: ingest.dsn,
    REDIS_URL: redis.url,
    PUBLIC_URL: 'https://api.muejam.example.org',
    TRUST_PROXY: '127.0.0.1'
  })
  // Through the load balancer, as production sees requests: otherwise it redirects to HTTPS.
  const refused = await preflight(app, VITE, { 'x-forwarded-proto': 'https' })
  t.not(refused.statusCode, 204)
  t.equal(refused.headers['access-control-allow-origin'], undefined)
  t.equal(refused.headers['access-control-allow-methods'], undefined)
  const read = await app.inject({ url: '/v1/stories', headers: { origin: VITE, 'x-forwarded-proto': 'https' } })
  t.equal(read.statusCode, 200)
  t.equal(read.headers['access-control-allow-origin'], undefined)
})

t.test('CORS_ORIGINS: the development default, and scheme://host:* for any port', async (t) => {
  t.same((await loadApiConfig({})).config.CORS_ORIGINS, ['http://localhost:*', 'http://127.0.0.1:*'], 'NODE_ENV defaults to development')
  t.same((await loadApiConfig({ AUTH_AUTHORIZED_PARTIES: 'https://app.example.org' })).config.CORS_ORIGINS,
    ['http://localhost:*', 'http://127.0.0.1:*', 'https://app.example.org'], 'with the authorized parties')
  t.same((await loadApiConfig({ NODE_ENV: 'test' })).config.CORS_ORIGINS, [], 'not in test')
  t.same((await loadApiConfig({ CORS_ORIGINS: 'http://localhost:*, https://app.example.org/' })).config.CORS_ORIGINS, ['http://localhost:*', 'https://app.example.org'])

  for (const value of ['http://localhost:5173:*', 'http://localhost:*/app', 'ftp://localhost:*', 'localhost:*', 'http://*:5173', 'http://localhost:**']) {
    const error = await loadApiConfig({ CORS_ORIGINS: value }).then(() => undefined, (error: unknown) => error)
    t.ok(error instanceof ConfigError, `${value} is refused`)
    t.match((error as ConfigError).problems, [{ variable: 'CORS_ORIGINS' }])
    t.equal((error as ConfigError).problems.length, 1)
  }
})
