import health from '@muejam/health'
import observability from '@muejam/observability'
import { OwnRedis } from '@muejam/testing/redis-server'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import rateLimit, { type RateLimitOptions } from '../src/index.js'

/*
 * The plugin registers what it owns on the documented decorators, app.health and
 * app.metrics, at onReady: so it works whether the host registers those plugins before or
 * after it, and without them at all.
 */

type Order = 'before' | 'after'

async function service (t: Test, order: Order, options: RateLimitOptions): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  const others = async () => {
    await app.register(health, { diskPath: false, cacheMs: 0, routeConfig: { rateLimit: false } })
    await app.register(observability, { prefix: 'svc_', defaultMetrics: false, metricsRouteConfig: { rateLimit: false } })
  }
  if (order === 'before') await others()
  await app.register(rateLimit, options)
  if (order === 'after') await others()
  app.get('/things', async () => 'ok')
  await app.ready()
  return app
}

for (const order of ['before', 'after'] as const) {
  t.test(`health and observability registered ${order} the limiter: the cache check and both counters are there, and follow the store`, async (t) => {
    const redis = await OwnRedis.start(t)
    const app = await service(t, order, { redis: redis.url, max: 1, storeTimeoutMs: 200 })
    const healthy = await app.inject('/health/ready')
    t.equal(healthy.statusCode, 200)
    t.match(healthy.json().checks.cache, { status: 'healthy' })

    t.equal((await app.inject('/things')).statusCode, 200)
    t.equal((await app.inject('/things')).statusCode, 429)
    await redis.kill()
    t.equal((await app.inject('/things')).statusCode, 200, 'open while the store is down')

    const metrics = (await app.inject('/metrics')).body
    t.match(metrics, /^# HELP svc_rate_limit_refused_total Requests refused with 429 by the rate limit\.$/m)
    t.match(metrics, /^# TYPE svc_rate_limit_refused_total counter$/m)
    t.match(metrics, /^svc_rate_limit_refused_total 1$/m)
    t.match(metrics, /^svc_rate_limit_store_errors_total 1$/m)

    const degraded = await app.inject('/health/ready')
    t.equal(degraded.json().status, 'degraded', 'the check is not critical: requests follow onStoreError without it')
    t.match(degraded.json().checks.cache, { status: 'unhealthy' })
  })
}

t.test('the in-process store adds no health check, but still its counters', async (t) => {
  const app = await service(t, 'after', { max: 1 })
  t.notOk('cache' in (await app.inject('/health/ready')).json().checks)
  await app.inject('/things')
  await app.inject('/things')
  t.match((await app.inject('/metrics')).body, /^svc_rate_limit_refused_total 1$/m)
})

t.test('without health or metrics decorators the plugin registers nothing and works', async (t) => {
  const redis = await OwnRedis.start(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(rateLimit, { redis: redis.url, max: 1 })
  app.get('/things', async () => 'ok')
  await app.ready()
  t.notOk(app.hasDecorator('health'))
  t.notOk(app.hasDecorator('metrics'))
  t.equal((await app.inject('/things')).statusCode, 200)
  t.equal((await app.inject('/things')).statusCode, 429)
})
