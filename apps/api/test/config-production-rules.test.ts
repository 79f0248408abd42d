import t from 'tap'
import { ConfigError } from '@muejam/config'
import { loadApiConfig } from '../src/config/index.js'
import { productionEnv, STRONG_SECRET_KEY } from './helpers/config-env.js'

async function refusal (env: Record<string, string | undefined>) {
  const error = await loadApiConfig(env).then(() => null, (e: unknown) => e)
  if (!(error instanceof ConfigError)) throw new Error('expected production to refuse this configuration')
  return error
}

const cases: Array<[string, Record<string, string | undefined>, string, RegExp]> = [
  ['a missing SECRET_KEY', { SECRET_KEY: undefined }, 'SECRET_KEY', /is not set; production requires it/],
  ['a django-insecure- SECRET_KEY', { SECRET_KEY: `django-insecure-${STRONG_SECRET_KEY}` }, 'SECRET_KEY', /example or placeholder/],
  ['a change-this- SECRET_KEY', { SECRET_KEY: `change-this-${STRONG_SECRET_KEY}` }, 'SECRET_KEY', /example or placeholder/],
  ['a SECRET_KEY of one repeated character', { SECRET_KEY: 'x'.repeat(64) }, 'SECRET_KEY', /example or placeholder/],
  ['a 49-character SECRET_KEY', { SECRET_KEY: STRONG_SECRET_KEY.slice(0, 49) }, 'SECRET_KEY', /is 49 characters long; at least 50/],
  ['DEBUG=true', { DEBUG: 'true' }, 'DEBUG', /stack traces/],
  ['SECURE_SSL_REDIRECT=false', { SECURE_SSL_REDIRECT: 'false' }, 'SECURE_SSL_REDIRECT', /plain HTTP/],
  ['LOG_LEVEL=debug', { LOG_LEVEL: 'debug' }, 'LOG_LEVEL', /debug and trace/],
  ['LOG_LEVEL=trace', { LOG_LEVEL: 'trace' }, 'LOG_LEVEL', /debug and trace/],
  ['a missing SENTRY_DSN', { SENTRY_DSN: undefined }, 'SENTRY_DSN', /production requires it/],
  ['a missing METRICS_TOKEN', { METRICS_TOKEN: undefined }, 'METRICS_TOKEN', /production requires it/],
  ['a 31-character METRICS_TOKEN', { METRICS_TOKEN: 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d' }, 'METRICS_TOKEN', /at least 32/],
  ['a missing DATABASE_URL (embedded database)', { DATABASE_URL: undefined }, 'DATABASE_URL', /production requires it/],
  ['a missing REDIS_URL', { REDIS_URL: undefined }, 'REDIS_URL', /production requires it/],
  ['a missing AUTH_ISSUER (development issuer)', { AUTH_ISSUER: undefined }, 'AUTH_ISSUER', /production requires it/],
  ['an http:// AUTH_ISSUER', { AUTH_ISSUER: 'http://clerk.muejam.example.org' }, 'AUTH_ISSUER', /https/],
  ['an http:// AUTH_JWKS_URL', { AUTH_JWKS_URL: 'http://keys.example.org/jwks.json' }, 'AUTH_JWKS_URL', /https/],
  ['HS256 in AUTH_ALGORITHMS', { AUTH_ALGORITHMS: 'RS256,HS256' }, 'AUTH_ALGORITHMS', /HS\* and none are refused/],
  ['none in AUTH_ALGORITHMS', { AUTH_ALGORITHMS: 'none' }, 'AUTH_ALGORITHMS', /HS\* and none are refused/],
  ['* in CORS_ORIGINS', { CORS_ORIGINS: 'https://app.example.org,*' }, 'CORS_ORIGINS', /any web site/],
  ['the docker development password in DATABASE_URL', { DATABASE_URL: 'postgres://muejam:muejam_password@db:5432/muejam' }, 'DATABASE_URL', /development password/],
  ['a placeholder password in REDIS_URL', { REDIS_URL: 'redis://:changeme@cache:6379' }, 'REDIS_URL', /development password/],
  ['a placeholder password in a replica URL', { DATABASE_REPLICA_URLS: 'postgres://ro:password123@replica/muejam' }, 'DATABASE_REPLICA_URLS', /development password/],
  ['a missing PUBLIC_URL', { PUBLIC_URL: undefined }, 'PUBLIC_URL', /PUBLIC_URL \(.*\) is not set; production requires it\. Fix: e\.g\. https:\/\/api\.example\.org\.$/],
  ['an http:// PUBLIC_URL', { PUBLIC_URL: 'http://api.muejam.example.org' }, 'PUBLIC_URL', /PUBLIC_URL \(.*\) must be an https:\/\/ origin in production; clients would be sent to plain HTTP\. Fix: use the https:\/\/ address clients reach the API at\.$/]
]

for (const [what, overrides, variable, message] of cases) {
  t.test(`production refuses ${what}`, async (t) => {
    const error = await refusal(productionEnv(overrides))
    t.same(error.problems.map((p) => p.variable), [variable])
    t.match(error.message, message)
    t.equal(error.exitCode, 78)
  })
}

t.test('the same values pass outside production', async (t) => {
  const { config } = await loadApiConfig(productionEnv({ NODE_ENV: 'development', DEBUG: 'true', LOG_LEVEL: 'debug', SECURE_SSL_REDIRECT: 'false', SECRET_KEY: 'short' }))
  t.equal(config.DEBUG, true)
  t.equal(config.SECRET_KEY, 'short')
})

t.test('every production problem is reported together in one message, secrets withheld', async (t) => {
  const weakKey = 'django-insecure-0123456789abcdefghijklmnopqrstuvwxyz0123456789'
  const error = await refusal({
    NODE_ENV: 'production',
    SECRET_KEY: weakKey,
    DEBUG: 'true',
    SECURE_SSL_REDIRECT: 'false',
    AUTH_ISSUER: 'http://issuer.example.org',
    AUTH_ALGORITHMS: 'HS256',
    DATABASE_URL: 'postgres://muejam:muejam_password@db/muejam'
  })
  t.same(error.problems.map((p) => p.variable).sort(), [
    'AUTH_ALGORITHMS', 'AUTH_ISSUER', 'DATABASE_URL', 'DEBUG', 'METRICS_TOKEN', 'PUBLIC_URL', 'REDIS_URL',
    'SECRET_KEY', 'SECURE_SSL_REDIRECT', 'SENTRY_DSN'
  ])
  t.match(error.message, /^Invalid configuration \(10 problems\):\n/)
  t.equal(error.message.split('\n').length, 11, 'one line per problem')
  t.notMatch(error.message, weakKey)
  t.notMatch(error.message, 'muejam_password')
  t.match(error.message, /SECRET_KEY \(server-side HMAC key that signs pagination cursors\) looks like an example or placeholder value\. Fix: generate one with: node -e/)
})

t.test('a value that fails the schema is reported once, not again by a production rule', async (t) => {
  const error = await refusal(productionEnv({ DATABASE_REPLICA_URLS: 'mysql://ro:password@replica/muejam' }))
  t.same(error.problems.map((p) => p.variable), ['DATABASE_REPLICA_URLS'])
  t.match(error.message, /must start with postgres/)
})

t.test('an https:// issuer with a trailing slash (as Auth0 issues) passes, kept as given', async (t) => {
  const { config } = await loadApiConfig(productionEnv({ AUTH_ISSUER: 'https://muejam.eu.auth0.com/' }))
  t.equal(config.AUTH_ISSUER, 'https://muejam.eu.auth0.com/')
  t.equal(config.AUTH_JWKS_URL, 'https://muejam.eu.auth0.com/.well-known/jwks.json')
  t.equal(config.PUBLIC_URL, 'https://api.muejam.example.org')
})
