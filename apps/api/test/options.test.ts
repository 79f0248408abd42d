import Fastify, { type RouteOptions } from 'fastify'
import t from 'tap'
import { loadApiConfig } from '../src/config/index.js'
import { dbPoolOptions } from '../src/db/options.js'
import { authOptions, rateLimitOptions } from '../src/plugin-options.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { rowCounts } from './helpers/stories.js'

t.test('the configuration maps onto db-pool options; passwords are read live for each connection', async (t) => {
  const store = await loadApiConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://app:first%40pw@db:5432/muejam',
    DATABASE_REPLICA_URLS: 'postgres://app:replica-pw@r1/muejam,postgres://app@r2/muejam',
    DB_POOL_MAX: '7',
    DB_CONNECT_TIMEOUT_MS: '1234',
    DB_IDLE_TIMEOUT_MS: '5678',
    DB_STATEMENT_TIMEOUT_MS: '910',
    DB_MAX_LIFETIME_MS: '120000'
  })
  t.teardown(() => store.close())
  const options = dbPoolOptions(store.config)
  t.match(options, {
    poolMax: 7,
    connectTimeoutMs: 1234,
    idleTimeoutMs: 5678,
    statementTimeoutMs: 910,
    maxLifetimeMs: 120_000,
    applicationName: 'muejam-api',
    primary: { connectionString: 'postgres://app:first%40pw@db:5432/muejam' },
    replicas: [{ connectionString: 'postgres://app:replica-pw@r1/muejam' }, { connectionString: 'postgres://app@r2/muejam' }]
  })
  t.equal(options.embedded, undefined)
  t.equal(await options.primary?.password?.(), 'first@pw', 'decoded')
  t.equal(await options.replicas?.[0]?.password?.(), 'replica-pw')
  t.equal(await options.replicas?.[1]?.password?.(), '')
})

t.test('DB_MAX_LIFETIME_MS: 600000 by default, 0 for no limit; anything else than whole milliseconds refuses to start', async (t) => {
  const defaults = await loadApiConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://app@db/muejam' })
  t.teardown(() => defaults.close())
  t.equal(dbPoolOptions(defaults.config).maxLifetimeMs, 600_000)
  const unlimited = await loadApiConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://app@db/muejam', DB_MAX_LIFETIME_MS: '0' })
  t.teardown(() => unlimited.close())
  t.equal(dbPoolOptions(unlimited.config).maxLifetimeMs, 0)
  for (const bad of ['10m', '-1', '1.5']) {
    await t.rejects(loadApiConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://app@db/muejam', DB_MAX_LIFETIME_MS: bad }),
      { code: 'MUEJAM_CONFIG_INVALID', message: /DB_MAX_LIFETIME_MS/ }, `${bad} is refused`)
  }
})

t.test('without DATABASE_URL the embedded database is used', async (t) => {
  const store = await loadApiConfig({ NODE_ENV: 'test', DATABASE_EMBEDDED_DIR: 'memory://' })
  t.teardown(() => store.close())
  t.match(dbPoolOptions(store.config), { embedded: { dataDir: 'memory://' }, primary: undefined })
})

t.test('RATE_LIMIT_WRITE_MAX sets the writes budget: exactly that many POSTs a minute are accepted per user, the next is refused and writes nothing', async (t) => {
  const env = await databaseEnv(t, 'write_budget')
  const app = await build(t, { ...env, RATE_LIMIT_WRITE_MAX: '3' })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const writer = authHeaders('user_2abcWriteBudget')
  const created = []
  for (let i = 0; i < 3; i++) created.push(await app.inject({ method: 'POST', url: '/v1/stories', headers: writer, body: { title: `Write ${i}` } }))
  t.same(created.map((response) => response.statusCode), [201, 201, 201])
  t.same(created.map((response) => response.headers['x-ratelimit-remaining']), ['2', '1', '0'])
  t.equal(created[0]?.headers['ratelimit-policy'], '"writes";q=3;w=60')

  const before = await rowCounts(db)
  const refused = await app.inject({ method: 'POST', url: '/v1/stories', headers: writer, body: { title: 'One too many' } })
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { code: 'rate_limited', limit: 3 })
  t.same(await rowCounts(db), before, 'the refused write changed nothing')
  t.equal((await app.inject({ url: '/v1/stories', headers: writer })).statusCode, 200, 'reads keep their own budget')
})

t.test('the writes budget defaults to 30', async (t) => {
  const store = await loadApiConfig({ NODE_ENV: 'test' })
  t.teardown(() => store.close())
  t.match(rateLimitOptions(store.config).routeLimit?.({ method: 'POST' } as RouteOptions), { name: 'writes', max: 30, maxAuthenticated: 30, windowMs: 60_000 })
  t.equal(rateLimitOptions(store.config).routeLimit?.({ method: 'GET' } as RouteOptions), undefined, 'reads are on the default budget')
})

t.test('AUTH_ISSUER reaches the auth plugin exactly as configured, trailing slash included, with the JWKS URL under it', async (t) => {
  const store = await loadApiConfig({ NODE_ENV: 'test', AUTH_ISSUER: 'https://muejam.eu.auth0.com/' })
  t.teardown(() => store.close())
  const options = await authOptions(store.config, Fastify().log)
  t.equal(options.issuer, 'https://muejam.eu.auth0.com/')
  t.equal(options.jwksUrl, 'https://muejam.eu.auth0.com/.well-known/jwks.json')
})
