import { createTestRedis } from '@muejam/testing/redis'
import t from 'tap'
import { build } from './helpers/app.js'

t.test('two instances on one Redis, 400 concurrent requests for one client, limit 50: exactly 50 accepted', async (t) => {
  const redis = await createTestRedis(t, 'concurrency')
  // A generous store budget: 400 requests at once on a loaded machine must not time out and
  // pass unlimited (onStoreError open), which would make the count look wrong.
  const options = { redis: redis.url, keyPrefix: redis.prefix, max: 50, storeTimeoutMs: 5000 }
  const [one, two] = await Promise.all([build(t, options), build(t, options)])
  const responses = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? one : two).inject('/things')))
  const accepted = responses.filter((response) => response.statusCode === 200)
  t.equal(accepted.length, 50)
  t.equal(responses.filter((response) => response.statusCode === 429).length, 350)
  t.same(accepted.map((response) => Number(response.headers['x-ratelimit-remaining'])).sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i), 'each accepted request holds a distinct place in the count')
  t.equal(one.rateLimit.stats.refused + two.rateLimit.stats.refused, 350)
  t.equal(one.rateLimit.stats.storeErrors + two.rateLimit.stats.storeErrors, 0, 'every request was counted')
  const ttl = await redis.client.pttl(`${redis.prefix}default:ip:127.0.0.1`)
  t.ok(ttl > 0 && ttl <= 60_000, 'the window has an expiry, set once by the first request')
})

t.test('with auto-pipelining off, the count is just as exact', async (t) => {
  const redis = await createTestRedis(t, 'no-pipelining')
  const app = await build(t, { redis: redis.url, keyPrefix: redis.prefix, max: 30, autoPipelining: false, storeTimeoutMs: 5000 })
  const responses = await Promise.all(Array.from({ length: 100 }, () => app.inject('/things')))
  t.equal(responses.filter((response) => response.statusCode === 200).length, 30)
})
