import { setTimeout as sleep } from 'node:timers/promises'
import { createTestRedis } from '@muejam/testing/redis'
import t from 'tap'
import { asUser, build } from './helpers/app.js'

async function redisOptions (t: Parameters<typeof createTestRedis>[0], label: string) {
  const redis = await createTestRedis(t, label)
  return { redis: redis.url, keyPrefix: redis.prefix, client: redis.client }
}

t.test('headers are exact on the first, the last allowed and the first refused request', async (t) => {
  const { client, ...store } = await redisOptions(t, 'headers')
  const app = await build(t, { ...store, max: 3, windowMs: 60_000 })

  const first = await app.inject('/things')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-ratelimit-limit'], '3')
  t.equal(first.headers['x-ratelimit-remaining'], '2')
  t.equal(first.headers['x-ratelimit-reset'], '60')
  t.equal(first.headers['ratelimit-policy'], '"default";q=3;w=60')
  t.equal(first.headers.ratelimit, '"default";r=2;t=60')
  t.equal(first.headers['retry-after'], undefined)

  await app.inject('/things')
  const last = await app.inject('/things')
  t.equal(last.statusCode, 200)
  const lastReset = last.headers['x-ratelimit-reset'] as string
  t.match(lastReset, /^(59|60)$/)
  t.equal(last.headers['x-ratelimit-limit'], '3')
  t.equal(last.headers['x-ratelimit-remaining'], '0')
  t.equal(last.headers['ratelimit-policy'], '"default";q=3;w=60')
  t.equal(last.headers.ratelimit, `"default";r=0;t=${lastReset}`)

  const refused = await app.inject('/things')
  t.equal(refused.statusCode, 429)
  const reset = refused.headers['x-ratelimit-reset'] as string
  t.match(reset, /^(59|60)$/)
  t.equal(refused.headers['retry-after'], reset)
  t.equal(refused.headers['x-ratelimit-limit'], '3')
  t.equal(refused.headers['x-ratelimit-remaining'], '0')
  t.equal(refused.headers['ratelimit-policy'], '"default";q=3;w=60')
  t.equal(refused.headers.ratelimit, `"default";r=0;t=${reset}`)
  t.match(refused.headers['content-type'], /^application\/problem\+json/)
  t.same(refused.json(), {
    status: 429,
    code: 'rate_limited',
    detail: `Too many requests: the limit is 3 per window; retry in ${reset} s.`,
    limit: 3,
    retry_after: Number(reset)
  })
  t.equal(app.rateLimit.stats.refused, 1)
  t.equal(app.rateLimit.stats.storeErrors, 0)
  t.equal(app.rateLimit.store, 'redis')
  t.equal(await client.zcard(`${store.keyPrefix}default:ip:127.0.0.1`), 3, 'one log, in the shared store, of the admitted requests only')
})

t.test('two users and one anonymous client get independent budgets', async (t) => {
  const { client: _client, ...store } = await redisOptions(t, 'budgets')
  const app = await build(t, { ...store, max: 2, maxAuthenticated: 3 })
  const statuses = async (headers: Record<string, string>, n: number) => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push((await app.inject({ url: '/things', headers })).statusCode)
    return out
  }
  t.same(await statuses(asUser('user_a'), 4), [200, 200, 200, 429], 'user a: 3 per window')
  t.same(await statuses(asUser('user_b'), 4), [200, 200, 200, 429], 'user b is not charged for user a')
  t.same(await statuses({}, 3), [200, 200, 429], 'the anonymous client: 2 per window, apart from both users')
  const user = await app.inject({ url: '/things', headers: asUser('user_c') })
  t.equal(user.headers['ratelimit-policy'], '"default";q=3;w=60', 'signed-in users see their own quota')
  t.equal(app.rateLimit.stats.refused, 3)
})

t.test('an exempt request is never refused and never counted (sync and async isExempt)', async (t) => {
  for (const kind of ['sync', 'async'] as const) {
    const { client: _client, ...store } = await redisOptions(t, `exempt-${kind}`)
    const isModerator = (request: { headers: Record<string, unknown> }) => request.headers['x-moderator'] === 'yes'
    const app = await build(t, {
      ...store,
      max: 2,
      isExempt: kind === 'sync' ? isModerator : async (request) => isModerator(request)
    })
    for (let i = 0; i < 6; i++) {
      const response = await app.inject({ url: '/things', headers: { 'x-moderator': 'yes' } })
      t.equal(response.statusCode, 200, `${kind}: exempt request ${i + 1} passes`)
      t.equal(response.headers['x-ratelimit-limit'], undefined, 'an exempt response is not limited, so it has no rate-limit headers')
    }
    const counted = await app.inject('/things')
    t.equal(counted.headers['x-ratelimit-remaining'], '1', `${kind}: exempt requests did not use the budget`)
  }
})

t.test('an isExempt that throws or rejects limits the request as usual and warns', async (t) => {
  const { client: _client, ...store } = await redisOptions(t, 'exempt-fails')
  const { capturedLogger } = await import('./helpers/app.js')
  const { lines, logger } = capturedLogger()
  const app = await build(t, {
    ...store,
    max: 1,
    isExempt: (request) => {
      if (request.headers['x-mode'] === 'throw') throw new Error('role lookup failed')
      return Promise.reject(new Error('role lookup rejected'))
    }
  }, { server: { logger } })
  t.equal((await app.inject({ url: '/things', headers: { 'x-mode': 'throw' } })).statusCode, 200)
  t.equal((await app.inject({ url: '/things', headers: { 'x-mode': 'throw' } })).statusCode, 429)
  t.equal((await app.inject({ url: '/things', headers: { 'x-mode': 'reject' } })).statusCode, 429)
  const warnings = lines.filter((line) => line.msg === 'rate-limit exemption check failed; the request is limited as usual')
  t.equal(warnings.length, 1, 'warned once within 10 s')
  t.match(warnings[0], { level: 40, err: { message: 'role lookup failed' }, suppressed: 0 })
})

t.test('/health* and /metrics are never limited and never counted', async (t) => {
  const { client, ...store } = await redisOptions(t, 'health')
  const app = await build(t, { ...store, max: 1 })
  for (const url of ['/health/live', '/health/ready', '/metrics']) {
    for (let i = 0; i < 4; i++) {
      const response = await app.inject(url)
      t.equal(response.statusCode, 200, `${url} #${i + 1}`)
      t.equal(response.headers['x-ratelimit-limit'], undefined)
    }
  }
  t.same(await client.keys(`${store.keyPrefix}*`), [], 'nothing was counted')
  t.equal((await app.inject('/things')).headers['x-ratelimit-remaining'], '0', 'the budget is whole for other routes')
  t.equal((await app.inject('/health/live')).statusCode, 200, '/health/live still answers once the client is over its limit')
  t.equal((await app.inject('/things')).statusCode, 429)
  t.equal((await app.inject('/health/live')).statusCode, 200)
})

t.test('per-route overrides: own budget, own window, false, shared names, and routeLimit', async (t) => {
  const { client: _client, ...store } = await redisOptions(t, 'routes')
  const app = await build(t, {
    ...store,
    max: 5,
    maxAuthenticated: 10,
    routeLimit: (route) => route.url === '/writes' ? { name: 'writes', maxAuthenticated: 2 } : undefined
  }, {
    routes: (app) => {
      app.get('/strict', { config: { rateLimit: { max: 1, maxAuthenticated: 2, windowMs: 30_000 } } }, async () => 'strict')
      app.get('/free', { config: { rateLimit: false } }, async () => 'free')
      app.get('/a', { config: { rateLimit: { name: 'shared', max: 2 } } }, async () => 'a')
      app.get('/b', { config: { rateLimit: { name: 'shared', max: 2 } } }, async () => 'b')
      app.post('/writes', async () => 'written')
      app.post('/writes-own', { config: { rateLimit: { max: 3 } } }, async () => 'own')
    }
  })

  const strict = await app.inject('/strict')
  t.equal(strict.statusCode, 200)
  t.equal(strict.headers['ratelimit-policy'], '"GET /strict";q=1;w=30')
  t.equal(strict.headers.ratelimit, '"GET /strict";r=0;t=30')
  t.equal(strict.headers['x-ratelimit-reset'], '30')
  t.equal((await app.inject('/strict')).statusCode, 429, 'anonymous: 1 per window on /strict')
  t.equal((await app.inject({ url: '/strict', headers: asUser('u1') })).statusCode, 200)
  t.equal((await app.inject({ url: '/strict', headers: asUser('u1') })).statusCode, 200)
  t.equal((await app.inject({ url: '/strict', headers: asUser('u1') })).statusCode, 429, 'signed in: 2 per window on /strict')
  t.equal((await app.inject('/things')).headers['x-ratelimit-remaining'], '4', '/strict did not use the plugin-wide budget')

  for (let i = 0; i < 8; i++) {
    const free = await app.inject('/free')
    t.equal(free.statusCode, 200)
    t.equal(free.headers['x-ratelimit-limit'], undefined)
  }

  t.equal((await app.inject('/a')).statusCode, 200)
  const b = await app.inject('/b')
  t.equal(b.statusCode, 200)
  t.equal(b.headers.ratelimit, '"shared";r=0;t=60', 'routes with one name share one budget')
  t.equal((await app.inject('/a')).statusCode, 429)

  t.equal((await app.inject({ method: 'POST', url: '/writes', headers: asUser('u1') })).headers['ratelimit-policy'], '"writes";q=2;w=60')
  t.equal((await app.inject({ method: 'POST', url: '/writes', headers: asUser('u1') })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/writes', headers: asUser('u1') })).statusCode, 429, 'routeLimit applies to routes without their own config')
  t.equal((await app.inject({ method: 'POST', url: '/writes-own' })).headers['ratelimit-policy'], '"POST /writes-own";q=3;w=60', 'a route\'s own config wins')
  t.equal((await app.inject({ method: 'POST', url: '/things' })).headers['ratelimit-policy'], '"default";q=5;w=60', 'routeLimit returning undefined keeps the plugin-wide policy')
})

t.test('a HEAD request counts once against its GET route', async (t) => {
  const { client: _client, ...store } = await redisOptions(t, 'head')
  const app = await build(t, { ...store, max: 5 })
  t.equal((await app.inject({ method: 'HEAD', url: '/things' })).headers['x-ratelimit-remaining'], '4')
  t.equal((await app.inject({ method: 'HEAD', url: '/things' })).headers['x-ratelimit-remaining'], '3')
})

t.test('routeLimit can leave a route unlimited', async (t) => {
  const app = await build(t, { max: 1, routeLimit: (route) => route.method === 'POST' ? false : undefined })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'POST', url: '/things' })).statusCode, 200)
  t.equal((await app.inject('/things')).statusCode, 200)
  t.equal((await app.inject('/things')).statusCode, 429)
})

t.test('a route whose config.rateLimit is invalid fails registration with a coded error', async (t) => {
  const Fastify = (await import('fastify')).default
  const rateLimit = (await import('../src/index.js')).default
  const cases: Array<[unknown, string]> = [
    [{ max: -1 }, 'Invalid config.rateLimit on route GET /bad: max must be an integer from 0 to 1000000000'],
    [{ windowMs: 10 }, 'Invalid config.rateLimit on route GET /bad: windowMs must be an integer number of milliseconds from 1000 to 604800000'],
    [{ maxAuthenticated: 1.5 }, 'Invalid config.rateLimit on route GET /bad: maxAuthenticated must be an integer from 0 to 1000000000'],
    [{ limit: 3 }, 'Invalid config.rateLimit on route GET /bad: unknown field "limit"'],
    [{ name: 'has "quotes"' }, 'Invalid config.rateLimit on route GET /bad: name must be 1–100 printable ASCII characters without " or \\'],
    [{ name: 7 }, 'Invalid config.rateLimit on route GET /bad: name must be a string'],
    [true, 'Invalid config.rateLimit on route GET /bad: must be false or an object { max?, maxAuthenticated?, windowMs?, name? }'],
    [null, 'Invalid config.rateLimit on route GET /bad: must be false or an object { max?, maxAuthenticated?, windowMs?, name? }']
  ]
  for (const [rateLimitConfig, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(rateLimit)
    t.throws(() => app.get('/bad', { config: { rateLimit: rateLimitConfig as false } }, async () => 'x'),
      { code: 'MUEJAM_RATE_LIMIT_INVALID_ROUTE_CONFIG', message })
  }
})

t.test('IPv6 clients are counted per /64: addresses in one /64 share a budget, another /64 has its own', async (t) => {
  const { client, ...store } = await redisOptions(t, 'ipv6')
  const app = await build(t, { ...store, max: 2 })
  const from = (remoteAddress: string) => app.inject({ url: '/things', remoteAddress })
  t.equal((await from('2001:db8:1:2::1')).statusCode, 200)
  t.equal((await from('2001:db8:1:2:ffff:ffff:ffff:ffff')).statusCode, 200)
  t.equal((await from('2001:db8:1:2:abcd::7')).statusCode, 429, 'a third address in the same /64 is refused')
  t.equal((await from('2001:db8:1:3::1')).statusCode, 200, 'the next /64 is another client')
  t.equal((await from('::ffff:192.0.2.1')).headers['x-ratelimit-remaining'], '1')
  t.equal((await from('192.0.2.1')).headers['x-ratelimit-remaining'], '0', 'an IPv4-mapped address counts as the IPv4 client')
  t.same((await client.keys(`${store.keyPrefix}*`)).sort(), [
    `${store.keyPrefix}default:ip:192.0.2.1`,
    `${store.keyPrefix}default:ip:2001:db8:1:2::`,
    `${store.keyPrefix}default:ip:2001:db8:1:3::`
  ])
})

t.test('the window resets: a refused client is accepted again once the window has passed', async (t) => {
  for (const kind of ['redis', 'memory'] as const) {
    const store = kind === 'redis' ? await redisOptions(t, 'window') : { redis: undefined, keyPrefix: undefined }
    const app = await build(t, { redis: store.redis, keyPrefix: store.keyPrefix, max: 1, windowMs: 1000 })
    t.equal(app.rateLimit.store, kind)
    t.equal((await app.inject('/things')).statusCode, 200)
    const refused = await app.inject('/things')
    t.equal(refused.statusCode, 429, `${kind}: refused within the window`)
    t.equal(refused.headers['retry-after'], '1')
    await sleep(1300)
    const again = await app.inject('/things')
    t.equal(again.statusCode, 200, `${kind}: accepted in the next window`)
    t.equal(again.headers['x-ratelimit-remaining'], '0')
  }
})

t.test('the in-process store limits per user and per client like the shared one', async (t) => {
  const app = await build(t, { max: 1, maxAuthenticated: 2 })
  t.equal(app.rateLimit.store, 'memory')
  t.equal((await app.inject('/things')).statusCode, 200)
  t.equal((await app.inject('/things')).statusCode, 429)
  t.equal((await app.inject({ url: '/things', headers: asUser('u') })).statusCode, 200)
  t.equal((await app.inject({ url: '/things', headers: asUser('u') })).statusCode, 200)
  t.equal((await app.inject({ url: '/things', headers: asUser('u') })).statusCode, 429)
  await t.resolves(app.rateLimit.checkStore())
})

t.test('the 404 handler is limited with the plugin-wide budget, without any set-up', async (t) => {
  const { client, ...store } = await redisOptions(t, 'not-found')
  const app = await build(t, { ...store, max: 2 }, {
    routes: (app) => {
      app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ code: 'route_not_found' }))
    }
  })
  const first = await app.inject('/nope')
  t.equal(first.statusCode, 404)
  t.equal(first.headers['x-ratelimit-remaining'], '1')
  t.equal((await app.inject('/things')).statusCode, 200, 'routes and unknown URLs share one budget')
  const refused = await app.inject('/nope/again')
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().code, 'rate_limited')
  t.equal(await client.zcard(`${store.keyPrefix}default:ip:127.0.0.1`), 2, 'the refused request is not in the log')
})

t.test('a request is counted once, whichever of the plugin\'s hooks and app.rateLimit.consume reach it', async (t) => {
  const { client, ...store } = await redisOptions(t, 'counted-once')
  const app = await build(t, { ...store, max: 10 }, {
    routes: (app) => {
      app.get('/hooked', { onRequest: app.rateLimit.onRequest }, async () => 'hooked')
      app.get('/consumed', { preHandler: (request, reply) => app.rateLimit.consume(request, reply) }, async () => 'consumed')
      app.setNotFoundHandler(async (request, reply) => {
        await app.rateLimit.consume(request, reply)
        return reply.code(404).send({ code: 'route_not_found' })
      })
    }
  })
  t.equal((await app.inject('/hooked')).headers['x-ratelimit-remaining'], '9', 'the hook on a route that has the limit already adds no second count')
  t.equal((await app.inject('/consumed')).headers['x-ratelimit-remaining'], '8', 'nor does consume after the route\'s limit')
  t.equal((await app.inject('/nope')).headers['x-ratelimit-remaining'], '7', 'nor consume in the 404 handler, which is limited already')
  t.equal(await client.zcard(`${store.keyPrefix}default:ip:127.0.0.1`), 3)
})

t.test('a user id counts only when request.auth carries a non-empty string userId', async (t) => {
  const app = await build(t, { max: 1, maxAuthenticated: 5 }, {
    routes: (app) => {
      app.get('/odd-auth', {
        onRequest: async (request) => { (request as unknown as { auth: unknown }).auth = { userId: '' } }
      }, async () => 'odd')
    }
  })
  const response = await app.inject('/odd-auth')
  t.equal(response.headers['ratelimit-policy'], '"default";q=1;w=60', 'counted as the anonymous client')
})

t.test('a key of another type (a counter without expiry, as an older version left) is replaced by a log that expires', async (t) => {
  const { client, ...store } = await redisOptions(t, 'foreign-key')
  const key = `${store.keyPrefix}default:ip:127.0.0.1`
  await client.set(key, '7')
  const app = await build(t, { ...store, max: 3 })
  const response = await app.inject('/things')
  t.equal(response.statusCode, 200, 'the client is not blocked by a count the log never made')
  t.equal(response.headers['x-ratelimit-remaining'], '2')
  t.equal(response.headers['x-ratelimit-reset'], '60')
  t.equal(await client.type(key), 'zset')
  const ttl = await client.pttl(key)
  t.ok(ttl > 59_000 && ttl <= 60_000, `the key expires with the window (${ttl} ms)`)
  t.equal(app.rateLimit.stats.storeErrors, 0)
})

t.test('the limit hook is added after a route\'s own onRequest hooks (function or array)', async (t) => {
  const seen: string[] = []
  const app = await build(t, { max: 1 }, {
    routes: (app) => {
      app.get('/one-hook', { onRequest: async () => { seen.push('one') } }, async () => 'x')
      app.get('/hooks', { onRequest: [async () => { seen.push('a') }, async () => { seen.push('b') }] }, async () => 'x')
    }
  })
  t.equal((await app.inject('/one-hook')).headers['x-ratelimit-remaining'], '0')
  t.equal((await app.inject('/hooks')).statusCode, 429, 'both routes share the plugin-wide budget')
  t.same(seen, ['one', 'a', 'b'])
})
