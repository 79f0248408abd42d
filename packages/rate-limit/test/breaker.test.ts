import { Agent } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import health from '@muejam/health'
import observability from '@muejam/observability'
import { OwnRedis } from '@muejam/testing/redis-server'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { build, capturedLogger } from './helpers/app.js'
import { get, type HttpResponse } from './helpers/http.js'
import { percentile } from '@muejam/testing/percentile'

/*
 * A frozen Redis (SIGSTOP: connections stay open, nothing answers) is the outage that costs
 * every request the whole store timeout. After `breakerFailureThreshold` such calls the
 * breaker opens and requests stop calling Redis; after the cool-off one probe goes through.
 * Redis itself counts the script calls it received (INFO commandstats), read after a thaw:
 * what a frozen server got while frozen is still in its sockets and runs then.
 */

const STORE_TIMEOUT_MS = 200
const THRESHOLD = 5
const COOL_OFF_MS = 2500
// A request that waits for Redis takes the whole store timeout; an open breaker answers
// without Redis. Half the timeout tells them apart on any machine; the p99 figures are
// printed, not asserted (what a loaded CI machine adds is not the breaker's).
const FAST_MS = STORE_TIMEOUT_MS / 2

/** Script calls Redis has run since the last CONFIG RESETSTAT. */
async function scriptCalls (admin: Redis): Promise<number> {
  const info = await admin.info('commandstats')
  let calls = 0
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(match[1])
  return calls
}

async function service (t: Test, onStoreError: 'open' | 'closed') {
  const redis = await OwnRedis.start(t)
  const admin = new Redis(redis.url, { lazyConnect: true })
  t.teardown(() => admin.disconnect())
  const { lines, logger } = capturedLogger()
  const app = await build(t, {
    redis: redis.url,
    max: 1000,
    onStoreError,
    storeTimeoutMs: STORE_TIMEOUT_MS,
    breakerFailureThreshold: THRESHOLD,
    breakerCoolOffMs: COOL_OFF_MS
  }, { server: { logger } })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const fetch = (): Promise<HttpResponse> => get(`${base}/things`, {}, agent)
  t.equal((await fetch()).headers['x-ratelimit-remaining'], '999', 'counted while Redis answers')
  await admin.config('RESETSTAT')
  return { app, redis, admin, lines, fetch }
}

for (const onStoreError of ['open', 'closed'] as const) {
  t.test(`Redis frozen, onStoreError ${onStoreError}: after ${THRESHOLD} timed-out calls the breaker opens, requests answer at once without calling Redis; after the cool-off one probe, then closed once Redis answers`, async (t) => {
    const { app, redis, admin, lines, fetch } = await service(t, onStoreError)
    const expected = onStoreError === 'open' ? 200 : 503
    redis.freeze()
    const frozenAt = performance.now()

    // Requests one after another: the first THRESHOLD wait for the store timeout each.
    const opening: HttpResponse[] = []
    while (app.rateLimit.breakerState === 'closed') opening.push(await fetch())
    const openedAt = performance.now()
    t.equal(opening.length, THRESHOLD, `${THRESHOLD} requests waited for Redis`)
    t.ok(opening.every((response) => response.ms >= STORE_TIMEOUT_MS * 0.9), 'each waited for the store timeout')

    // Open: answers at once, for most of the cool-off.
    const open: HttpResponse[] = []
    while (performance.now() - openedAt < COOL_OFF_MS - 500) open.push(await fetch())
    t.same([...new Set(open.map((response) => response.status))], [expected], `every request answered ${expected}`)
    if (onStoreError === 'closed') {
      t.same(JSON.parse((open[0] as HttpResponse).body), {
        status: 503, code: 'rate_limit_unavailable', detail: 'Rate limiting is temporarily unavailable; retry in 5 s.', retry_after: 5
      })
      t.equal(open[0]?.headers['retry-after'], '5')
    }
    const times = open.map((response) => response.ms)
    const p99 = percentile(times, 99)
    t.comment(`Redis frozen, ${onStoreError}: ${open.length} requests while open, p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (store timeout ${STORE_TIMEOUT_MS} ms)`)
    t.ok(open.length > 50, `a steady stream of requests (${open.length})`)
    t.ok(p99 < FAST_MS, `p99 ${p99.toFixed(2)} ms < ${FAST_MS} ms while open`)
    t.equal(app.rateLimit.breakerState, 'open')

    // Cool-off over, Redis still frozen: one probe waits for the timeout, the others do not.
    await sleep(Math.max(0, openedAt + COOL_OFF_MS - performance.now()))
    t.equal(app.rateLimit.breakerState, 'half_open')
    const halfOpen = await Promise.all(Array.from({ length: 10 }, () => fetch()))
    const slow = halfOpen.filter((response) => response.ms >= STORE_TIMEOUT_MS * 0.9)
    t.equal(slow.length, 1, 'one probe went to Redis and waited for it')
    for (const response of halfOpen) t.equal(response.status, expected)
    t.equal(app.rateLimit.breakerState, 'open', 'the failed probe re-opened the breaker')
    const reopenedAt = performance.now()

    redis.thaw()
    t.equal(await scriptCalls(admin), THRESHOLD + 1, `Redis got the ${THRESHOLD} calls that opened the breaker and the one probe, nothing else`)
    t.ok(app.rateLimit.stats.storeErrors >= opening.length + open.length + halfOpen.length, 'requests kept off Redis count as store errors (the alert keeps firing)')

    // Redis back: the next probe after the cool-off closes the breaker; counting resumes.
    let back: HttpResponse | undefined
    while (performance.now() - reopenedAt < COOL_OFF_MS + 3000) {
      const response = await fetch()
      if (response.headers['x-ratelimit-remaining'] !== undefined) {
        back = response
        break
      }
      await sleep(20)
    }
    t.ok(back !== undefined, 'counting resumed by itself')
    const recoveredMs = performance.now() - reopenedAt
    t.ok(recoveredMs < COOL_OFF_MS + 1000, `recovered ${recoveredMs.toFixed(0)} ms after the probe failed (cool-off ${COOL_OFF_MS} ms)`)
    t.equal(app.rateLimit.breakerState, 'closed')
    t.equal(await scriptCalls(admin), THRESHOLD + 2)
    t.comment(`frozen for ${(reopenedAt - frozenAt).toFixed(0)} ms`)

    const changes = lines.filter((line) => typeof line.breaker === 'string').map((line) => [line.level, line.msg])
    t.same(changes, [
      [40, 'rate-limit Redis circuit breaker open; requests skip the store until a probe succeeds'],
      [40, 'rate-limit Redis circuit breaker open; requests skip the store until a probe succeeds'],
      [30, 'rate-limit Redis circuit breaker closed']
    ])
  })
}

t.test('the first second of a frozen Redis under concurrent load, then p99 of what follows', async (t) => {
  const { app, redis, fetch } = await service(t, 'open')
  redis.freeze()
  const start = performance.now()
  const after: number[] = []
  let failed = 0
  const client = async () => {
    while (performance.now() - start < 2000) {
      const response = await fetch()
      if (response.status !== 200) failed++
      if (performance.now() - start - response.ms >= 1000) after.push(response.ms)
    }
  }
  await Promise.all(Array.from({ length: 8 }, client))
  redis.thaw()
  const p99 = percentile(after, 99)
  t.comment(`Redis frozen, 8 concurrent clients: ${after.length} requests sent after the first second, p99 ${p99.toFixed(2)} ms (target < 20 ms)`)
  t.equal(failed, 0, 'every request answered 200 (onStoreError open)')
  t.ok(after.length > 100)
  t.ok(p99 < FAST_MS, `p99 ${p99.toFixed(2)} ms < ${FAST_MS} ms`)
  t.equal(app.rateLimit.breakerState, 'open')
})

t.test('the breaker in /health (the cache check\'s details) and in rate_limit_breaker_state', async (t) => {
  const redis = await OwnRedis.start(t)
  const { default: Fastify } = await import('fastify')
  const { default: rateLimit } = await import('../src/index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(health, { diskPath: false, cacheMs: 0, routeConfig: { rateLimit: false } })
  await app.register(observability, { prefix: 'svc_', defaultMetrics: false, metricsRouteConfig: { rateLimit: false } })
  await app.register(rateLimit, { redis: redis.url, storeTimeoutMs: 100, breakerFailureThreshold: 2, breakerCoolOffMs: 60_000 })
  app.get('/things', async () => 'ok')
  await app.ready()

  const gauge = async () => /^svc_rate_limit_breaker_state (\d)$/m.exec((await app.inject('/metrics')).body)?.[1]
  t.match((await app.inject('/health')).json().checks.cache, { status: 'healthy', breaker: 'closed' })
  t.match((await app.inject('/metrics')).body, /^# HELP svc_rate_limit_breaker_state State of the rate-limit Redis circuit breaker: 0 closed, 1 half-open, 2 open\.$/m)
  t.equal(await gauge(), '0')

  await redis.kill()
  await app.inject('/things')
  await app.inject('/things')
  t.equal(app.rateLimit.breakerState, 'open')
  t.equal(await gauge(), '2')
  const report = (await app.inject('/health')).json()
  t.equal(report.status, 'degraded', 'the cache check is not critical')
  t.match(report.checks.cache, { status: 'unhealthy', breaker: 'open' })
})

t.test('the in-process store has no breaker', async (t) => {
  const app = await build(t, {})
  t.equal(app.rateLimit.breakerState, null)
})
