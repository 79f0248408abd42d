import Fastify from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import rateLimit, { InvalidOptionError, type RateLimitOptions } from '../src/index.js'

const invalid: Array<[string, RateLimitOptions, string]> = [
  ['max below 0', { max: -1 }, '"max": must be an integer from 0 to 1000000000'],
  ['max not an integer', { max: 1.5 }, '"max": must be an integer from 0 to 1000000000'],
  ['maxAuthenticated as a string', { maxAuthenticated: '10' as unknown as number }, '"maxAuthenticated": must be an integer from 0 to 1000000000'],
  ['windowMs under a second', { windowMs: 999 }, '"windowMs": must be an integer number of milliseconds from 1000 to 604800000'],
  ['storeTimeoutMs 0', { storeTimeoutMs: 0 }, '"storeTimeoutMs": must be an integer number of milliseconds from 1 to 60000'],
  ['connectTimeoutMs too large', { connectTimeoutMs: 60_001 }, '"connectTimeoutMs": must be an integer number of milliseconds from 1 to 60000'],
  ['ipv6Subnet 129', { ipv6Subnet: 129 }, '"ipv6Subnet": must be an integer from 1 to 128'],
  ['unavailableRetryAfterS 0', { unavailableRetryAfterS: 0 }, '"unavailableRetryAfterS": must be an integer from 1 to 3600'],
  ['localCacheSize 0', { localCacheSize: 0 }, '"localCacheSize": must be an integer from 1 to 10000000'],
  ['onStoreError unknown', { onStoreError: 'ignore' as 'open' }, '"onStoreError": must be one of "open", "closed"'],
  ['keyPrefix not a string', { keyPrefix: 1 as unknown as string }, '"keyPrefix": must be a string'],
  ['policyName with a quote', { policyName: 'a"b' }, '"policyName": must be 1–100 printable ASCII characters without " or \\'],
  ['policyName empty', { policyName: '' }, '"policyName": must be 1–100 printable ASCII characters without " or \\'],
  ['breakerFailureThreshold 0', { breakerFailureThreshold: 0 }, '"breakerFailureThreshold": must be an integer from 1 to 1000'],
  ['breakerFailureThreshold as a string', { breakerFailureThreshold: '5' as unknown as number }, '"breakerFailureThreshold": must be an integer from 1 to 1000'],
  ['breakerCoolOffMs 0', { breakerCoolOffMs: 0 }, '"breakerCoolOffMs": must be an integer number of milliseconds from 1 to 604800000'],
  ['autoPipelining not a boolean', { autoPipelining: 'yes' as unknown as boolean }, '"autoPipelining": must be true or false'],
  ['isExempt not a function', { isExempt: true as unknown as () => boolean }, '"isExempt": must be a function'],
  ['identify not a function', { identify: 'sub' as never }, '"identify": must be a function'],
  ['routeLimit not a function', { routeLimit: {} as unknown as () => undefined }, '"routeLimit": must be a function'],
  ['redis an http URL', { redis: 'http://127.0.0.1:6379' }, '"redis": must be a redis:// or rediss:// URL'],
  ['redis without a scheme', { redis: 'localhost:6379' }, '"redis": must be a redis:// or rediss:// URL'],
  ['redis not a URL', { redis: 'not a url' }, '"redis": must be a redis:// or rediss:// URL'],
  ['redis an arbitrary object', { redis: { host: '127.0.0.1' } as unknown as string }, '"redis": must be an ioredis client or a redis:// URL']
]

for (const [what, options, detail] of invalid) {
  t.test(`registration fails with MUEJAM_RATE_LIMIT_INVALID_OPTION: ${what}`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(rateLimit, options) }, {
      code: 'MUEJAM_RATE_LIMIT_INVALID_OPTION',
      message: `Invalid @muejam/rate-limit option ${detail}`
    })
    t.ok(new InvalidOptionError('x', 'y') instanceof TypeError)
  })
}

t.test('defaults: 100 anonymous and 1000 signed-in requests per 60 s window, in-process store', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(rateLimit)
  app.get('/', async () => 'ok')
  const response = await app.inject('/')
  t.equal(response.headers['ratelimit-policy'], '"default";q=100;w=60')
  t.equal(app.rateLimit.store, 'memory')
  t.same(app.rateLimit.stats, { refused: 0, storeErrors: 0 })
})

t.test('an empty or null redis option means the in-process store', async (t) => {
  for (const redis of ['', null]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(rateLimit, { redis })
    t.equal(app.rateLimit.store, 'memory')
  }
})

t.test('a host-owned ioredis client is accepted and never closed by the plugin', async (t) => {
  const { createTestRedis } = await import('@muejam/testing/redis')
  const testRedis = await createTestRedis(t, 'host-client')
  const client = new Redis(testRedis.url, { commandTimeout: 100, enableOfflineQueue: false })
  t.teardown(() => client.quit())
  t.equal(client.status, 'connecting')
  const app = Fastify()
  await app.register(rateLimit, { redis: client, keyPrefix: testRedis.prefix, policyName: 'api' })
  app.get('/', async () => 'ok')
  const response = await app.inject('/')
  t.equal(response.headers.ratelimit, '"api";r=99;t=60')
  t.equal(app.rateLimit.store, 'redis')
  t.equal(client.status, 'ready', 'registration waited for the connecting client')
  await app.close()
  t.equal(client.status, 'ready', 'still connected after app.close()')
})

t.test('a plugin-owned client (redis URL) is quit when the app closes', async (t) => {
  const { createTestRedis } = await import('@muejam/testing/redis')
  const testRedis = await createTestRedis(t, 'owned-client')
  const app = Fastify()
  await app.register(rateLimit, { redis: testRedis.url, keyPrefix: testRedis.prefix })
  await t.resolves(app.rateLimit.checkStore())
  const before = String(await testRedis.client.client('LIST')).split('\n').filter((line) => line.includes('name=muejam-rate-limit')).length
  t.ok(before >= 1, 'the plugin connected under its own connection name')
  await app.close()
  await t.rejects(app.rateLimit.checkStore(), { message: 'Redis is not connected' })
})

t.test('a lazy host client (lazyConnect) connects on the first counted request', async (t) => {
  const { createTestRedis } = await import('@muejam/testing/redis')
  const testRedis = await createTestRedis(t, 'lazy-client')
  const client = new Redis(testRedis.url, { lazyConnect: true })
  t.teardown(() => client.quit())
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(rateLimit, { redis: client, keyPrefix: testRedis.prefix })
  t.equal(client.status, 'wait', 'registration did not force the connection')
  app.get('/', async () => 'ok')
  const response = await app.inject('/')
  t.equal(response.headers['x-ratelimit-remaining'], '99')
})

t.test('a host client that has already been quit: requests follow onStoreError', async (t) => {
  const { createTestRedis } = await import('@muejam/testing/redis')
  const testRedis = await createTestRedis(t, 'ended-client')
  const client = new Redis(testRedis.url)
  await client.quit()
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(rateLimit, { redis: client, keyPrefix: testRedis.prefix, onStoreError: 'closed' })
  app.get('/', async () => 'ok')
  const response = await app.inject('/')
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'rate_limit_unavailable')
  t.equal(response.headers['retry-after'], '5')
  t.equal(app.rateLimit.stats.storeErrors, 1)
})

t.test('the client errors meet the problem contract: status, snake_case code, Retry-After, extensions', async (t) => {
  const { isProblemError } = await import('@muejam/problem')
  const { RateLimitedError, RateLimitUnavailableError } = await import('../src/index.js')
  const limited = new RateLimitedError(3, 17)
  t.ok(isProblemError(limited))
  t.match(limited, {
    statusCode: 429,
    code: 'rate_limited',
    message: 'Too many requests: the limit is 3 per window; retry in 17 s.',
    headers: { 'retry-after': '17' },
    extensions: { limit: 3, retry_after: 17 }
  })
  const unavailable = new RateLimitUnavailableError(5)
  t.ok(isProblemError(unavailable))
  t.match(unavailable, {
    statusCode: 503,
    code: 'rate_limit_unavailable',
    message: 'Rate limiting is temporarily unavailable; retry in 5 s.',
    headers: { 'retry-after': '5' },
    extensions: { retry_after: 5 }
  })
})
