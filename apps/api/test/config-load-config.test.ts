import { inspect } from 'node:util'
import t from 'tap'
import { ConfigError } from '@muejam/config'
import { loadApiConfig } from '../src/config/index.js'
import { productionEnv, publicKeyPem } from './helpers/config-env.js'

async function problemsOf (env: Record<string, string | undefined>) {
  const error = await loadApiConfig(env).then(() => null, (e: unknown) => e)
  if (!(error instanceof ConfigError)) throw new Error('expected a ConfigError')
  return error
}

t.test('an empty environment is a working development configuration', async (t) => {
  const { config } = await loadApiConfig({})
  t.equal(config.NODE_ENV, 'development')
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.PORT, 3000)
  t.equal(config.SECURE_SSL_REDIRECT, false)
  t.equal(config.SHUTDOWN_DRAIN_MS, 0)
  t.equal(config.DATABASE_URL, undefined)
  t.equal(config.MIGRATE_ON_START, true, 'the embedded database migrates on start')
  t.equal(config.HEALTH_DISK_PATH, '.data/pglite')
  t.same(config.AUTH_ALGORITHMS, ['RS256'])
  t.ok(config.SECRET_KEY.length >= 50, 'a random per-process SECRET_KEY')
})

t.test('each process draws its own development SECRET_KEY', async (t) => {
  const [a, b] = await Promise.all([loadApiConfig({}), loadApiConfig({})])
  t.not(a.config.SECRET_KEY, b.config.SECRET_KEY)
})

t.test('a valid production environment loads with production defaults', async (t) => {
  const { config } = await loadApiConfig(productionEnv())
  t.equal(config.HOST, '0.0.0.0')
  t.equal(config.SECURE_SSL_REDIRECT, true)
  t.equal(config.SHUTDOWN_DRAIN_MS, 5000)
  t.equal(config.MIGRATE_ON_START, false)
  t.equal(config.HEALTH_DISK_PATH, '/')
  t.equal(config.AUTH_JWKS_URL, 'https://clerk.muejam.example.org/.well-known/jwks.json')
})

t.test('values are parsed and typed', async (t) => {
  const { config } = await loadApiConfig({
    PORT: '8080',
    DEBUG: 'yes',
    TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1/128,loopback',
    AUTH_AUTHORIZED_PARTIES: 'https://app.example.org,http://localhost:5173/',
    AUTH_ALGORITHMS: 'RS256,ES256',
    DATABASE_REPLICA_URLS: 'postgres://a/db1, postgresql://b/db2',
    DB_POOL_MAX: '7',
    MIGRATE_ON_START: 'false',
    RATE_LIMIT_ON_STORE_ERROR: 'closed'
  })
  t.equal(config.PORT, 8080)
  t.equal(config.DEBUG, true)
  t.same(config.TRUST_PROXY, ['10.0.0.0/8', '127.0.0.1', '::1/128', 'loopback'])
  t.same(config.AUTH_AUTHORIZED_PARTIES, ['https://app.example.org', 'http://localhost:5173'])
  t.same(config.CORS_ORIGINS, ['http://localhost:*', 'http://127.0.0.1:*', 'https://app.example.org', 'http://localhost:5173'],
    'CORS_ORIGINS defaults to the authorized parties, and in development to local front ends on any port')
  t.same(config.AUTH_ALGORITHMS, ['RS256', 'ES256'])
  t.same(config.DATABASE_REPLICA_URLS, ['postgres://a/db1', 'postgresql://b/db2'])
  t.equal(config.DB_POOL_MAX, 7)
  t.equal(config.MIGRATE_ON_START, false)
  t.equal(config.RATE_LIMIT_ON_STORE_ERROR, 'closed')
})

t.test('empty variables count as unset', async (t) => {
  const { config } = await loadApiConfig({ PORT: '', DATABASE_URL: '', CORS_ORIGINS: '' })
  t.equal(config.PORT, 3000)
  t.equal(config.DATABASE_URL, undefined)
  t.same(config.CORS_ORIGINS, ['http://localhost:*', 'http://127.0.0.1:*'], 'the development default')
})

t.test('the configuration is frozen and its secrets never serialise', async (t) => {
  const { config } = await loadApiConfig(productionEnv())
  t.ok(Object.isFrozen(config))
  t.throws(() => { (config as { PORT: number }).PORT = 1 })
  const printed = JSON.stringify(config) + inspect(config)
  const env = productionEnv()
  for (const name of ['SECRET_KEY', 'SENTRY_DSN', 'METRICS_TOKEN', 'DATABASE_URL', 'REDIS_URL'] as const) {
    t.notMatch(printed, env[name] as string, `${name} is not printed`)
  }
  t.match(printed, '[redacted]')
})

t.test('a PEM public key is accepted, with \\n escapes, and a private key is refused', async (t) => {
  const { publicKey, privateKey } = publicKeyPem()
  const { config } = await loadApiConfig({ AUTH_JWT_KEY: publicKey.replace(/\n/g, '\\n') })
  t.equal(config.AUTH_JWT_KEY, publicKey.trim())
  const error = await problemsOf({ AUTH_JWT_KEY: privateKey })
  t.same(error.problems.map((p) => p.variable), ['AUTH_JWT_KEY'])
  t.notMatch(error.message, privateKey.split('\n')[1] as string, 'the key material is not echoed')
})

t.test('malformed values are each reported, without their values', async (t) => {
  const error = await problemsOf({
    PORT: 'eighty',
    DEBUG: 'maybe',
    LOG_LEVEL: 'loud',
    TRUST_PROXY: '2',
    DATABASE_URL: 'mysql://root:hunter2hunter2@db/app',
    REDIS_URL: 'not a url',
    CORS_ORIGINS: 'https://app.example.org/path',
    AUTH_ALGORITHMS: 'RS256,HS256',
    DB_POOL_MAX: '0',
    RATE_LIMIT_ON_STORE_ERROR: 'sometimes'
  })
  t.equal(error.exitCode, 78)
  t.equal(error.code, 'MUEJAM_CONFIG_INVALID')
  t.same(error.problems.map((p) => p.variable).sort(), [
    'AUTH_ALGORITHMS', 'CORS_ORIGINS', 'DATABASE_URL', 'DB_POOL_MAX', 'DEBUG', 'LOG_LEVEL', 'PORT',
    'RATE_LIMIT_ON_STORE_ERROR', 'REDIS_URL', 'TRUST_PROXY'
  ])
  t.notMatch(error.message, 'hunter2')
  t.notMatch(error.message, 'eighty')
  t.match(error.message, /AUTH_ALGORITHMS \(accepted token signature algorithms\) must list only public-key algorithms/)
  t.match(error.message, /TRUST_PROXY .*a hop count is not accepted/)
  for (const problem of error.problems) {
    t.ok(problem.purpose.length > 0, `${problem.variable} says what it is for`)
    t.ok(problem.fix, `${problem.variable} says how to fix it`)
  }
})

t.test('a single problem reads as one problem', async (t) => {
  const error = await problemsOf({ PORT: '70000' })
  t.equal(error.message, 'Invalid configuration (1 problem):\n  - PORT (listen port) must be a whole number from 0 to 65535. Fix: e.g. 3000.')
})

t.test('proxy entries must be addresses or CIDR ranges with a valid prefix', async (t) => {
  for (const value of ['10.0.0.0/33', '1.2.3.4/8/9', '::1/x', 'fe80::/129', 'proxy.internal']) {
    const error = await problemsOf({ TRUST_PROXY: value })
    t.same(error.problems.map((p) => p.variable), ['TRUST_PROXY'], value)
  }
  const { config } = await loadApiConfig({ TRUST_PROXY: 'fe80::/10,192.168.0.0/16,uniquelocal' })
  t.same(config.TRUST_PROXY, ['fe80::/10', '192.168.0.0/16', 'uniquelocal'])
})

t.test('AUTH_ALGORITHMS must name at least one algorithm', async (t) => {
  const error = await problemsOf({ AUTH_ALGORITHMS: ' , ' })
  t.match(error.message, /AUTH_ALGORITHMS .* must name at least one algorithm/)
})

const PUBLIC_URL_PURPOSE = 'PUBLIC_URL (the API\'s public origin: HTTPS redirects, Location headers and the OpenAPI servers entry)'

t.test('PUBLIC_URL defaults to http://127.0.0.1:<PORT> outside production', async (t) => {
  t.equal((await loadApiConfig({})).config.PUBLIC_URL, 'http://127.0.0.1:3000')
  t.equal((await loadApiConfig({ PORT: '8080' })).config.PUBLIC_URL, 'http://127.0.0.1:8080')
})

t.test('PUBLIC_URL is kept as an origin: scheme and host, a port when not the default, no trailing slash', async (t) => {
  t.equal((await loadApiConfig({ PUBLIC_URL: 'https://api.example.org' })).config.PUBLIC_URL, 'https://api.example.org')
  t.equal((await loadApiConfig({ PUBLIC_URL: 'https://API.Example.org:8443/' })).config.PUBLIC_URL, 'https://api.example.org:8443')
  t.equal((await loadApiConfig({ PUBLIC_URL: 'https://api.example.org:443' })).config.PUBLIC_URL, 'https://api.example.org')
})

t.test('a PUBLIC_URL that is not an origin is refused (exit 78) without its value', async (t) => {
  const notAnOrigin = 'must be an origin (scheme://host[:port]) without a path, query, fragment or credentials'
  const cases: Array<[string, string]> = [
    ['https://api.example.org/v1', notAnOrigin],
    ['https://api.example.org/?debug=1', notAnOrigin],
    ['https://api.example.org#top', notAnOrigin],
    ['https://deploy:hunter2@api.example.org', notAnOrigin],
    ['ftp://api.example.org', 'must start with http:// or https://'],
    ['api.example.org', 'is not a valid URL']
  ]
  for (const [value, problem] of cases) {
    const error = await problemsOf({ PUBLIC_URL: value })
    t.equal(error.exitCode, 78)
    t.equal(error.message, `Invalid configuration (1 problem):\n  - ${PUBLIC_URL_PURPOSE} ${problem}. Fix: e.g. https://api.example.org.`, value)
    t.notMatch(error.message, 'hunter2')
  }
})

t.test('with SECURE_SSL_REDIRECT on, PUBLIC_URL must be https:// outside production too (the redirect would loop)', async (t) => {
  for (const env of [{ SECURE_SSL_REDIRECT: 'true' }, { SECURE_SSL_REDIRECT: 'true', PUBLIC_URL: 'http://api.example.org' }]) {
    const error = await problemsOf(env)
    t.equal(error.exitCode, 78)
    t.equal(error.message, `Invalid configuration (1 problem):\n  - ${PUBLIC_URL_PURPOSE} is http:// while SECURE_SSL_REDIRECT is on; the redirect would send clients back to plain HTTP. ` +
      'Fix: set PUBLIC_URL to the https:// origin clients reach the API at, or SECURE_SSL_REDIRECT=false.')
  }
  const { config } = await loadApiConfig({ SECURE_SSL_REDIRECT: 'true', PUBLIC_URL: 'https://api.example.org' })
  t.equal(config.PUBLIC_URL, 'https://api.example.org')
})

t.test('RATE_LIMIT_WRITE_MAX defaults to 30 and is a whole number of at least 1', async (t) => {
  t.equal((await loadApiConfig({})).config.RATE_LIMIT_WRITE_MAX, 30)
  t.equal((await loadApiConfig({ RATE_LIMIT_WRITE_MAX: '5' })).config.RATE_LIMIT_WRITE_MAX, 5)
  const error = await problemsOf({ RATE_LIMIT_WRITE_MAX: '0' })
  t.equal(error.exitCode, 78)
  t.equal(error.message, 'Invalid configuration (1 problem):\n  - RATE_LIMIT_WRITE_MAX (POST requests per minute per signed-in user: the writes budget) ' +
    'must be a whole number from 1 to 9007199254740991. Fix: e.g. 30.')
})

t.test('AUTH_ISSUER is kept exactly as given, trailing slash included; the JWKS URL gets no double slash', async (t) => {
  const auth0 = await loadApiConfig({ AUTH_ISSUER: 'https://tenant.eu.auth0.com/' })
  t.equal(auth0.config.AUTH_ISSUER, 'https://tenant.eu.auth0.com/')
  t.equal(auth0.config.AUTH_JWKS_URL, 'https://tenant.eu.auth0.com/.well-known/jwks.json')
  const clerk = await loadApiConfig({ AUTH_ISSUER: 'https://clerk.example.org' })
  t.equal(clerk.config.AUTH_ISSUER, 'https://clerk.example.org')
  t.equal(clerk.config.AUTH_JWKS_URL, 'https://clerk.example.org/.well-known/jwks.json')
  const explicit = await loadApiConfig({ AUTH_ISSUER: 'https://tenant.eu.auth0.com/', AUTH_JWKS_URL: 'https://keys.example.org/jwks.json' })
  t.equal(explicit.config.AUTH_JWKS_URL, 'https://keys.example.org/jwks.json', 'an explicit JWKS URL wins')
})
