import { inspect } from 'node:util'
import t from 'tap'
import { ConfigError, integer, loadConfig, secret, string, type Schema } from '../src/index.js'
import { productionEnv, serviceSchema, STRONG_API_KEY } from './helpers/service-schema.js'

async function refusal (env: Record<string, string | undefined>, schema: Schema = serviceSchema) {
  const error = await loadConfig({ env, schema }).then(() => null, (e: unknown) => e)
  if (!(error instanceof ConfigError)) throw new Error('expected a ConfigError')
  return error
}

t.test('an empty environment loads the development defaults', async (t) => {
  const { config } = await loadConfig({ env: {}, schema: serviceSchema })
  t.equal(config.PORT, 3000, 'the development default wins over the default')
  t.equal(config.MODE, 'read-write')
  t.equal(config.DATABASE_URL, undefined, 'a development default of undefined leaves it unset')
  t.same(config.FEATURES, [])
  t.equal(config.VERBOSE, false)
  t.equal(config.WORKERS, 4)
  t.equal(config.GREETING, undefined)
  t.ok(config.API_KEY.length >= 40, 'the function default was called')
  t.equal(config.AWS_SECRETS_MANAGER_SECRET_ID, undefined)
  t.equal(config.AWS_SECRETS_MANAGER_REFRESH_MS, 300_000)
})

t.test('a function default is drawn once per store: each store its own, a refresh keeps it', async (t) => {
  const [a, b] = await Promise.all([loadConfig({ env: {}, schema: serviceSchema }), loadConfig({ env: {}, schema: serviceSchema })])
  t.not(a.config.API_KEY, b.config.API_KEY)
  const key = a.config.API_KEY
  t.same(await a.refresh(), [])
  t.equal(a.config.API_KEY, key)
})

t.test('production uses the defaults, not the development defaults', async (t) => {
  const { config } = await loadConfig({ env: productionEnv(), schema: serviceSchema })
  t.equal(config.PORT, 8080)
  t.equal(config.API_KEY, STRONG_API_KEY)
})

t.test('production refuses what only has a development default, naming each, without values', async (t) => {
  const error = await refusal({ NODE_ENV: 'production' })
  t.equal(error.exitCode, 78)
  t.equal(error.code, 'MUEJAM_CONFIG_INVALID')
  t.same(error.problems.map((p) => p.variable), ['DATABASE_URL', 'API_KEY'])
  t.equal(error.message, 'Invalid configuration (2 problems):\n' +
    '  - DATABASE_URL (primary database) is not set; production requires it. Fix: e.g. postgres://app:pw@db/app.\n' +
    '  - API_KEY (key partners send in x-api-key) is not set; production requires it. Fix: generate one with: node -e "console.log(require(\'node:crypto\').randomBytes(48).toString(\'base64url\'))".')
})

t.test('a variable without any default is required in every environment', async (t) => {
  const error = await refusal({}, { TOKEN: string({ description: 'upstream token' }), RETRIES: integer() })
  t.equal(error.message, 'Invalid configuration (2 problems):\n' +
    '  - TOKEN (upstream token) is not set; it is required. Fix: set TOKEN.\n' +
    '  - RETRIES is not set; it is required. Fix: set RETRIES.')
})

t.test('values are parsed and typed', async (t) => {
  const { config } = await loadConfig({
    env: { PORT: ' 9000 ', MODE: 'read-only', FEATURES: 'search, export,,beta', VERBOSE: 'YES', WORKERS: '64', DATABASE_URL: 'postgresql://db/app/', GREETING: ' hi ' },
    schema: serviceSchema
  })
  t.equal(config.PORT, 9000)
  t.equal(config.MODE, 'read-only')
  t.same(config.FEATURES, ['search', 'export', 'beta'])
  t.equal(config.VERBOSE, true)
  t.equal(config.WORKERS, 64)
  t.equal(config.DATABASE_URL, 'postgresql://db/app', 'normalised without the trailing slash')
  t.equal(config.GREETING, ' hi ', 'text is kept as given')
})

t.test('empty variables count as unset', async (t) => {
  const { config } = await loadConfig({ env: { PORT: '', FEATURES: '', DATABASE_URL: '' }, schema: serviceSchema })
  t.equal(config.PORT, 3000)
  t.same(config.FEATURES, [])
  t.equal(config.DATABASE_URL, undefined)
})

t.test('every malformed value is reported at once, each without its value', async (t) => {
  const error = await refusal({
    PORT: '70000',
    MODE: 'sideways',
    FEATURES: 'search,teleport',
    VERBOSE: 'maybe',
    WORKERS: '0',
    DATABASE_URL: 'mysql://root:hunter2hunter2@db/app',
    API_KEY_FILE: '/nonexistent/muejam-config-test'
  })
  t.equal(error.exitCode, 78)
  t.same(error.problems.map((p) => p.variable), ['API_KEY_FILE', 'MODE', 'PORT', 'DATABASE_URL', 'FEATURES', 'VERBOSE', 'WORKERS'])
  t.equal(error.message, 'Invalid configuration (7 problems):\n' +
    '  - API_KEY_FILE (file that holds API_KEY) cannot be read (ENOENT). Fix: point it at a readable file, or unset it.\n' +
    '  - MODE (whether writes are accepted) must be one of: read-write, read-only. Fix: read-write or read-only.\n' +
    '  - PORT (listen port) must be a whole number from 0 to 65535. Fix: e.g. 8080.\n' +
    '  - DATABASE_URL (primary database) must start with postgres:// or postgresql://. Fix: e.g. postgres://app:pw@db/app.\n' +
    '  - FEATURES (features switched on) must be one of: search, export, beta. Fix: correct FEATURES.\n' +
    '  - VERBOSE (log request bodies) must be true or false. Fix: correct VERBOSE.\n' +
    '  - WORKERS (worker threads) must be a whole number from 1 to 64. Fix: correct WORKERS.')
  for (const value of ['70000', 'sideways', 'teleport', 'maybe', 'hunter2']) t.notMatch(error.message, value, `${value} is not printed`)
})

t.test('production rules: a secret must be long and not an example; rules of your own', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ API_KEY: STRONG_API_KEY.slice(0, 39) }, 'API_KEY (key partners send in x-api-key) is 39 characters long; at least 40 are required'],
    [{ API_KEY: `change-this-${STRONG_API_KEY}` }, 'API_KEY (key partners send in x-api-key) looks like an example or placeholder value'],
    [{ API_KEY: 'x'.repeat(64) }, 'API_KEY (key partners send in x-api-key) looks like an example or placeholder value'],
    [{ VERBOSE: 'true' }, 'VERBOSE (log request bodies) is true; request bodies may hold personal data. Fix: correct VERBOSE.']
  ]
  for (const [overrides, expected] of cases) {
    const error = await refusal(productionEnv(overrides))
    t.equal(error.problems.length, 1, JSON.stringify(Object.keys(overrides)))
    t.match(error.message, expected)
    t.equal(error.exitCode, 78)
    if (overrides.API_KEY !== undefined) t.notMatch(error.message, overrides.API_KEY, 'the key is not printed')
  }
})

t.test('production rules do not apply outside production', async (t) => {
  const { config } = await loadConfig({ env: productionEnv({ NODE_ENV: 'development', API_KEY: 'short', VERBOSE: 'on' }), schema: serviceSchema })
  t.equal(config.API_KEY, 'short')
  t.equal(config.VERBOSE, true)
})

t.test('a value that fails parsing is reported once, not again by a production rule', async (t) => {
  const error = await refusal(productionEnv({ VERBOSE: 'loud' }))
  t.same(error.problems.map((p) => p.problem), ['must be true or false'])
})

t.test('schema, missing and production problems come together in one message', async (t) => {
  const weak = 'your-secret-here-your-secret-here-your-secret'
  const error = await refusal({ NODE_ENV: 'production', API_KEY: weak, VERBOSE: 'true', PORT: 'http' })
  t.same(error.problems.map((p) => p.variable), ['PORT', 'DATABASE_URL', 'API_KEY', 'VERBOSE'])
  t.match(error.message, /^Invalid configuration \(4 problems\):\n/)
  t.equal(error.message.split('\n').length, 5, 'one line per problem')
  t.notMatch(error.message, weak)
})

t.test('production rules accept strings, problem objects with their own fix, and lists', async (t) => {
  const schema = {
    LEVEL: string({
      default: 'debug',
      fix: 'e.g. info',
      production: [(value) => value === 'trace' ? 'is trace' : undefined, (value) => value === 'debug' ? { problem: 'is debug', fix: 'set LEVEL=info' } : undefined]
    })
  }
  t.equal((await refusal({ NODE_ENV: 'production' }, schema)).message, 'Invalid configuration (1 problem):\n  - LEVEL is debug. Fix: set LEVEL=info.')
  t.equal((await refusal({ NODE_ENV: 'production', LEVEL: 'trace' }, schema)).message, 'Invalid configuration (1 problem):\n  - LEVEL is trace. Fix: e.g. info.')
  t.equal((await loadConfig({ env: { NODE_ENV: 'production', LEVEL: 'info' }, schema })).config.LEVEL, 'info')
})

t.test('secret() flags the value secret and uses 32 characters by default', async (t) => {
  const schema = { TOKEN: secret({ default: undefined }) }
  t.equal(schema.TOKEN.secret, true)
  const error = await refusal({ NODE_ENV: 'production', TOKEN: 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d' }, schema)
  t.match(error.message, /TOKEN is 31 characters long; at least 32 are required/)
  t.equal((await loadConfig({ env: { NODE_ENV: 'production' }, schema })).config.TOKEN, undefined, 'an unset optional secret passes')
})

t.test('the configuration is frozen; secret values never serialise', async (t) => {
  const store = await loadConfig({ env: productionEnv({ FEATURES: 'search' }), schema: serviceSchema })
  const { config } = store
  t.ok(Object.isFrozen(config))
  t.throws(() => { (config as { PORT: number }).PORT = 1 })
  t.throws(() => { (config.FEATURES as string[]).push('beta') }, 'lists are frozen too')
  const printed = JSON.stringify(config) + inspect(config)
  t.notMatch(printed, STRONG_API_KEY)
  t.notMatch(printed, 'Kq7wP2vR9xZ4')
  t.match(JSON.parse(JSON.stringify(config)), { API_KEY: '[redacted]', DATABASE_URL: '[redacted]', PORT: 8080, FEATURES: ['search'] })
  t.same(store.secretNames, ['DATABASE_URL', 'API_KEY'])
  t.same(store.secretValues(), [productionEnv().DATABASE_URL, STRONG_API_KEY])
})

t.test('secretValues lists each item of a secret list and skips unset secrets', async (t) => {
  const { list } = await import('../src/index.js')
  const store = await loadConfig({
    env: { REPLICAS: 'postgres://a:one@r1/db,postgres://b:two@r2/db' },
    schema: { REPLICAS: list({ default: [], secret: true }), TOKEN: secret({ default: undefined }) }
  })
  t.same(store.secretValues(), ['postgres://a:one@r1/db', 'postgres://b:two@r2/db'])
  t.match(inspect(store.config), /REPLICAS: '\[redacted\]'/)
})
