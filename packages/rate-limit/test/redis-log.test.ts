import { setTimeout as sleep } from 'node:timers/promises'
import { createTestRedis } from '@muejam/testing/redis'
import { OwnRedis } from '@muejam/testing/redis-server'
import { Redis } from 'ioredis'
import t from 'tap'
import { asUser, build } from './helpers/app.js'

t.test('two instances sharing Redis, requests alternating between them: exactly max admitted, each at its own place in the count', async (t) => {
  const redis = await createTestRedis(t, 'interleaved')
  const options = { redis: redis.url, keyPrefix: redis.prefix, max: 7, maxAuthenticated: 4 }
  const [one, two] = await Promise.all([build(t, options), build(t, options)])
  const remaining: string[] = []
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) {
    const response = await (i % 2 === 0 ? one : two).inject('/things')
    statuses.push(response.statusCode)
    remaining.push(response.headers['x-ratelimit-remaining'] as string)
  }
  t.same(statuses, [...Array(7).fill(200), ...Array(5).fill(429)])
  t.same(remaining, ['6', '5', '4', '3', '2', '1', '0', '0', '0', '0', '0', '0'])
  const user = []
  for (let i = 0; i < 6; i++) user.push((await (i % 2 === 0 ? two : one).inject({ url: '/things', headers: asUser('u1') })).statusCode)
  t.same(user, [200, 200, 200, 200, 429, 429], 'a user is counted across instances the same way')
  t.equal(one.rateLimit.stats.refused + two.rateLimit.stats.refused, 7)
})

t.test('one round trip per request: a single EVALSHA, the trimming and counting done inside it', async (t) => {
  const redis = await createTestRedis(t, 'round-trip')
  const client = new Redis(redis.url, { commandTimeout: 1000, enableOfflineQueue: false, connectionName: 'round-trip-probe' })
  t.teardown(() => client.quit())
  const app = await build(t, { redis: client, keyPrefix: redis.prefix, max: 100 })
  await app.inject('/things') // the first call may also load the script (EVAL after NOSCRIPT)
  const clientId = await client.client('ID')
  const address = String(await redis.client.client('LIST', 'ID', String(clientId))).match(/addr=(\S+)/)?.[1]
  const monitor = await redis.client.duplicate().monitor()
  t.teardown(() => monitor.disconnect())
  const sent: string[] = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === address) sent.push(String(args[0]).toLowerCase())
  })
  for (let i = 0; i < 5; i++) t.equal((await app.inject('/things')).statusCode, 200)
  await client.ping()
  await sleep(100)
  t.same(sent, ['evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha', 'ping'], 'five requests, five commands')
})

t.test('the log lives in Redis\'s clock and expires with its newest entry; an idle key vanishes', async (t) => {
  const redis = await createTestRedis(t, 'expiry')
  const app = await build(t, { redis: redis.url, keyPrefix: redis.prefix, max: 5, windowMs: 1000 })
  const key = `${redis.prefix}default:ip:127.0.0.1`
  const [seconds, micros] = await redis.client.time()
  await app.inject('/things')
  await sleep(300)
  await app.inject('/things')
  const pttl = await redis.client.pttl(key)
  t.ok(pttl > 900 && pttl <= 1000, `the expiry is renewed to windowMs by each admitted request (${pttl} ms)`)
  const entries = await redis.client.zrange(key, 0, -1, 'WITHSCORES')
  t.equal(entries.length, 4, 'two entries with their scores')
  const serverNow = Number(seconds) * 1e6 + Number(micros)
  const first = Number(entries[1])
  t.ok(first >= serverNow && first < serverNow + 1e6, 'scored in µs of the Redis server clock')
  t.not(entries[0], entries[2], 'each request its own member')
  await sleep(1200)
  t.equal(await redis.client.exists(key), 0, 'gone once the window has passed without requests')
})

t.test('a refused request neither joins the log nor extends its expiry', async (t) => {
  const redis = await createTestRedis(t, 'refused-ttl')
  const app = await build(t, { redis: redis.url, keyPrefix: redis.prefix, max: 1, windowMs: 1000 })
  const key = `${redis.prefix}default:ip:127.0.0.1`
  await app.inject('/things')
  await sleep(500)
  t.equal((await app.inject('/things')).statusCode, 429)
  t.equal(await redis.client.zcard(key), 1)
  const pttl = await redis.client.pttl(key)
  t.ok(pttl > 0 && pttl <= 550, `still expires with the admitted entry (${pttl} ms left)`)
})

t.test('a Redis that lost its scripts is sent the script again: requests in flight are each counted once', async (t) => {
  const redis = await OwnRedis.start(t)
  const admin = new Redis(redis.url)
  t.teardown(() => admin.quit())
  const app = await build(t, { redis: redis.url, max: 30 })
  t.equal((await app.inject('/things')).headers['x-ratelimit-remaining'], '29')
  await admin.script('FLUSH')
  const responses = await Promise.all(Array.from({ length: 20 }, () => app.inject('/things')))
  t.same(responses.map((response) => response.statusCode), Array(20).fill(200))
  t.same(responses.map((response) => Number(response.headers['x-ratelimit-remaining'])).sort((a, b) => b - a),
    Array.from({ length: 20 }, (_, i) => 28 - i), 'each request has its own place in the count')
  t.equal(await admin.zcard('muejam:rl:default:ip:127.0.0.1'), 21)
  t.equal(app.rateLimit.stats.storeErrors, 0, 'NOSCRIPT is no store error')
})

t.test('a host client\'s own keyPrefix comes first in the log\'s key, as in every command the client sends', async (t) => {
  const redis = await createTestRedis(t, 'client-prefix')
  const client = new Redis(redis.url, { keyPrefix: `${redis.prefix}host:`, commandTimeout: 1000, enableOfflineQueue: false })
  t.teardown(() => client.quit())
  const app = await build(t, { redis: client, keyPrefix: 'rl:', max: 3 })
  t.equal((await app.inject('/things')).headers['x-ratelimit-remaining'], '2')
  t.same(await redis.client.keys(`${redis.prefix}*`), [`${redis.prefix}host:rl:default:ip:127.0.0.1`])
})
