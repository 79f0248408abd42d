import { setTimeout as sleep } from 'node:timers/promises'
import { createTestRedis } from '@muejam/testing/redis'
import { startTcpProxy, type TcpProxy } from '@muejam/testing/tcp-proxy'
import t, { type Test } from 'tap'
import { HEALTH_CHECK_TIMEOUT_MS } from '../src/plugin-options.js'
import { type ApiProcess, type ApiResponse, startApiProcess, waitFor } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { databaseEnv } from './helpers/build.js'
import { percentile } from '@muejam/testing/percentile'

/*
 * Readiness, liveness and load shedding of the real server process (`node dist/server.js`)
 * while the test cuts its paths to PostgreSQL and Redis with TCP proxies it controls.
 * The health plugin reuses a report for 1 s; the API gives each check 750 ms. Time bounds
 * are multiples of these budgets; the budgets themselves are pinned by what the reports say.
 */

/** How long @muejam/health reuses a report (its default, which the API keeps), in ms. */
const HEALTH_CACHE_MS = 1000
/** How long a request waits for the rate-limit store (@muejam/rate-limit's default), in ms. */
const RATE_LIMIT_STORE_TIMEOUT_MS = 100
/** The longest a dependency's failure may go unseen: a fresh report's life, then a check's timeout. */
const DETECTION_BUDGET_MS = HEALTH_CACHE_MS + HEALTH_CHECK_TIMEOUT_MS

interface Report {
  status: 'healthy' | 'degraded' | 'unhealthy'
  checks: Record<string, { status: string, error?: string }>
}

const POSTGRES = { host: '127.0.0.1', port: 5432 }
const REDIS = { host: '127.0.0.1', port: 6379 }

function through (proxy: TcpProxy, url: string): string {
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(proxy.port)
  return proxied.href
}

/** Quiet settings shared by every server of this file. */
const QUIET = { LOG_LEVEL: 'warn', HEALTH_MAX_EVENT_LOOP_DELAY_MS: '0' }

/**
 * Probes `/health/ready` every 50 ms without waiting for answers, as a load balancer with
 * many health checkers would, until one answer satisfies `wanted`; resolves with it and the
 * time it arrived.
 */
async function probeUntil (server: ApiProcess, wanted: (response: ApiResponse) => boolean, timeoutMs: number): Promise<{ response: ApiResponse, at: number }> {
  return await new Promise((resolve, reject) => {
    let done = false
    const finish = (error: Error | null, result?: { response: ApiResponse, at: number }) => {
      if (done) return
      done = true
      clearInterval(timer)
      clearTimeout(giveUp)
      if (error !== null) reject(error)
      else resolve(result as { response: ApiResponse, at: number })
    }
    const probe = () => {
      server.request({ path: '/health/ready', timeoutMs: 5000 }).then((response) => {
        if (wanted(response)) finish(null, { response, at: performance.now() })
      }, () => {})
    }
    const timer = setInterval(probe, 50)
    probe()
    const giveUp = setTimeout(() => finish(new Error(`/health/ready did not answer as wanted within ${timeoutMs} ms`)), timeoutMs)
  })
}

t.test('the health budgets keep a dependency failure visible within the 2 s readiness must fail within', async (t) => {
  t.ok(DETECTION_BUDGET_MS < 2000, `a report's life plus a check's timeout: ${DETECTION_BUDGET_MS} ms`)
})

function assertNothingSecret (t: Test, body: string, secrets: string[]) {
  for (const secret of [...secrets, 'postgres://', 'redis://', 'password', 'stack']) {
    t.notMatch(body, secret, `the report does not show ${secret}`)
  }
}

t.test('cutting the path to PostgreSQL makes readiness 503 unhealthy within 2 s while liveness stays 200; restoring it brings 200 back without a restart', async (t) => {
  const proxy = await startTcpProxy(t, POSTGRES)
  const env = await databaseEnv(t, 'readiness_pg')
  const server = await startApiProcess(t, { ...QUIET, ...env, DATABASE_URL: through(proxy, env.DATABASE_URL), DB_CONNECT_TIMEOUT_MS: '1000' })
  const user = `user_ready_pg_${process.pid}`

  const first = await probeUntil(server, (r) => r.status === 200, 10_000)
  t.equal(first.response.json<Report>().checks.database?.status, 'healthy', 'the database check passes through the proxy')

  // Each cut right after a fresh healthy report, the worst case: a dead server is seen when
  // that report expires (1 s); a partition only once a check also outlives its timeout.
  const cuts = [
    { name: 'a dead server (connections reset)', cut: () => proxy.reset(), timesOut: false },
    { name: 'a partition (packets go nowhere)', cut: () => proxy.blackhole(), timesOut: true }
  ]
  for (const { name, cut, timesOut } of cuts) {
    await t.test(`cut: ${name}`, async (t) => {
      const healthy = await probeUntil(server, (r) => r.status === 200 && r.json<Report>().status === 'healthy', 10_000)
      t.equal(healthy.response.json<Report>().checks.database?.status, 'healthy')

      const cutAt = performance.now()
      cut()
      const { response, at } = await probeUntil(server, (r) => r.status === 503, 10_000)
      const elapsed = at - cutAt
      t.comment(`readiness answered 503 ${Math.round(elapsed)} ms after the cut`)
      t.ok(elapsed <= 1.5 * DETECTION_BUDGET_MS, `503 within a report's life and a check's timeout, with half again for a loaded machine (took ${Math.round(elapsed)} ms)`)
      const report = response.json<Report>()
      t.equal(report.status, 'unhealthy')
      t.equal(report.checks.database?.status, 'unhealthy', 'checks.database.status is unhealthy')
      if (timesOut) t.equal(report.checks.database?.error, `timed out after ${HEALTH_CHECK_TIMEOUT_MS} ms`, 'the check says how it failed')
      else t.match(report.checks.database, { failing_pools: ['primary'], breakers: { primary: String } }, 'the check says which pool failed, and its breaker')
      t.equal(report.checks.disk?.status, 'healthy', 'only the database is blamed')
      assertNothingSecret(t, response.body, [String(proxy.port), new URL(env.DATABASE_URL).pathname.slice(1)])

      const live = await server.request('/health/live')
      t.equal(live.status, 200, 'liveness stays 200: an outage of a dependency never gets the process restarted')
      t.same(live.json(), { status: 'pass' })
      if (timesOut) {
        // Once the 503 report has expired, a readiness run waits out the check's timeout; liveness does not wait with it.
        await sleep(HEALTH_CACHE_MS)
        const answered: string[] = []
        await Promise.all(['/health/ready', '/health/live'].map((path) => server.request(path).then(() => { answered.push(path) })))
        t.same(answered, ['/health/live', '/health/ready'], 'liveness answers while a readiness run is stuck on the partition')
      }

      const restoredAt = performance.now()
      proxy.restore()
      const back = await probeUntil(server, (r) => r.status === 200, 15_000)
      t.comment(`readiness answered 200 again ${Math.round(back.at - restoredAt)} ms after the path was restored`)
      t.equal(back.response.json<Report>().checks.database?.status, 'healthy')
      const stories = await server.request({ path: '/v1/stories', headers: authHeaders(user) })
      t.equal(stories.status, 200, 'requests reach the database again')
      t.notOk(server.exited, 'the same process, never restarted')
    })
  }
})

t.test('cutting the path to Redis degrades readiness (200) while the rate limit fails open, and restoring it makes it healthy again', async (t) => {
  const redis = await createTestRedis(t, 'readiness')
  const proxy = await startTcpProxy(t, REDIS)
  const env = await databaseEnv(t, 'readiness_redis')
  const server = await startApiProcess(t, {
    ...QUIET,
    ...env,
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    RATE_LIMIT_ON_STORE_ERROR: 'open'
  })
  // Requests come from a user of this test alone, so the counts live under keys of its own.
  const user = `user_ready_redis_${process.pid}_${Date.now()}`
  t.teardown(async () => {
    const keys = await redis.client.keys(`muejam:rl:*${user}*`)
    if (keys.length > 0) await redis.client.del(...keys)
  })

  const counted = await server.request({ path: '/v1/stories', headers: authHeaders(user) })
  t.equal(counted.status, 200)
  t.equal(counted.headers['x-ratelimit-remaining'], '999', 'the request was counted in Redis')
  t.ok((await redis.client.keys(`muejam:rl:*${user}*`)).length > 0, 'its key is in Redis')

  const cuts = [
    { name: 'Redis frozen (packets go nowhere)', cut: () => proxy.blackhole() },
    { name: 'Redis dead (connections reset)', cut: () => proxy.reset() }
  ]
  for (const { name, cut } of cuts) {
    await t.test(`cut: ${name}`, async (t) => {
      const healthy = await probeUntil(server, (r) => r.status === 200 && r.json<Report>().status === 'healthy', 15_000)
      t.equal(healthy.response.json<Report>().checks.cache?.status, 'healthy')

      const cutAt = performance.now()
      cut()
      const { response, at } = await probeUntil(server, (r) => r.json<Report>().status !== 'healthy', 10_000)
      t.comment(`readiness degraded ${Math.round(at - cutAt)} ms after the cut`)
      t.ok(at - cutAt <= 1.5 * DETECTION_BUDGET_MS, `seen within a report's life and a check's timeout, with half again for a loaded machine (took ${Math.round(at - cutAt)} ms)`)
      t.equal(response.status, 200, 'a non-critical check only degrades: the instance stays in rotation')
      const report = response.json<Report>()
      t.equal(report.status, 'degraded')
      t.equal(report.checks.cache?.status, 'unhealthy', 'the Redis check is the one failing')
      t.equal(report.checks.database?.status, 'healthy')
      assertNothingSecret(t, response.body, [String(proxy.port)])

      // Fail open: requests go through, waiting on the store no longer than its timeout.
      const latencies: number[] = []
      for (let i = 0; i < 20; i++) {
        const stories = await server.request({ path: '/v1/stories', headers: authHeaders(user) })
        t.equal(stories.status, 200, 'requests pass while Redis is out')
        latencies.push(stories.ms)
      }
      const p95 = percentile(latencies, 95)
      t.ok(p95 < 10 * RATE_LIMIT_STORE_TIMEOUT_MS, `and do not hang: p95 ${Math.round(p95)} ms, under ten store timeouts (${latencies.map(Math.round).join(', ')} ms)`)
      t.equal((await server.request('/health/live')).status, 200, 'liveness stays 200')

      const restoredAt = performance.now()
      proxy.restore()
      const back = await probeUntil(server, (r) => r.status === 200 && r.json<Report>().status === 'healthy', 15_000)
      t.comment(`readiness healthy again ${Math.round(back.at - restoredAt)} ms after the path was restored`)
      t.equal(back.response.json<Report>().checks.cache?.status, 'healthy')
      const recount = await server.request({ path: '/v1/stories', headers: authHeaders(user) })
      t.equal(recount.status, 200)
      t.match(recount.headers['x-ratelimit-remaining'], /^\d+$/, 'counting in Redis again')
      t.notOk(server.exited, 'the same process, never restarted')
    })
  }
})

t.test('100 concurrent readiness probes cost at most one database round trip per second', async (t) => {
  // Every statement the API sends to PostgreSQL goes through this proxy, which reads the
  // wire protocol and records each round trip: a probe that reached the database would show.
  const proxy = await startTcpProxy(t, POSTGRES, { postgres: true })
  const env = await databaseEnv(t, 'readiness_probes')
  const server = await startApiProcess(t, { ...QUIET, ...env, DATABASE_URL: through(proxy, env.DATABASE_URL) })
  const user = `user_ready_probes_${process.pid}`
  await probeUntil(server, (r) => r.status === 200, 10_000)

  // The counter sees the API's queries: 20 story lists are at least 20 round trips.
  const before = proxy.queries.length
  for (let i = 0; i < 20; i++) t.equal((await server.request({ path: '/v1/stories', headers: authHeaders(user) })).status, 200)
  t.ok(proxy.queries.length - before >= 20, `requests that query are counted (${proxy.queries.length - before} round trips for 20 lists)`)

  // Waves of 100 concurrent probes, each on its own connection, every 250 ms for 4 s.
  const start = performance.now()
  const from = proxy.queries.length
  const statuses: number[] = []
  const waves: Array<Promise<void>> = []
  for (let wave = 0; wave < 16; wave++) {
    waves.push(Promise.all(Array.from({ length: 100 }, async () => {
      statuses.push((await server.request({ path: '/health/ready', timeoutMs: 10_000 })).status)
    })).then(() => {}))
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  await Promise.all(waves)
  const windowMs = performance.now() - start
  const during = proxy.queries.slice(from)

  t.equal(statuses.length, 1600)
  t.ok(statuses.every((status) => status === 200), 'every probe answered 200')
  t.ok(during.length >= 1, 'the checks did reach the database during the probes')
  const allowed = Math.floor(windowMs / HEALTH_CACHE_MS) + 1
  t.comment(`${statuses.length} probes in ${Math.round(windowMs)} ms: ${during.length} database round trips (${during.map((q) => q.sql).join(' | ')})`)
  t.ok(during.length <= allowed, `at most one round trip per report's life: ${during.length} in ${Math.round(windowMs)} ms (allowed ${allowed})`)
  const gaps = during.slice(1).map((query, index) => query.at - (during[index] as { at: number }).at)
  // A report is reused for its whole life from the end of the run that made it. The median,
  // not the minimum: a round trip is timed when this (busy) process reads it off the proxy.
  t.ok(gaps.length >= 2, `several round trips to compare (${gaps.length} gaps)`)
  t.ok(percentile(gaps, 50) >= 0.9 * HEALTH_CACHE_MS, `round trips a report's life apart (gaps: ${gaps.map(Math.round).join(', ')} ms)`)
})

t.test('beyond the heap limit every API route sheds load with 503 overloaded and Retry-After while liveness stays 200', async (t) => {
  const env = await databaseEnv(t, 'readiness_pressure')
  const server = await startApiProcess(t, { ...QUIET, ...env, HEALTH_MAX_HEAP_USED_BYTES: '1' })
  const user = `user_ready_pressure_${process.pid}`

  // under-pressure samples memory once a second: the first sample turns shedding on.
  let shed: ApiResponse | undefined
  const at = await waitFor(async () => {
    shed = await server.request({ path: '/v1/stories', headers: authHeaders(user) })
    return shed.status === 503
  }, { timeoutMs: 10_000, everyMs: 100 })
  t.not(at, null, 'requests are shed once memory is sampled')
  const response = shed as ApiResponse
  t.equal(response.status, 503)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.equal(response.json().code, 'overloaded')
  t.equal(response.headers['retry-after'], '10', 'Retry-After tells clients when to come back')
  t.equal(response.json().retry_after, 10)

  const anonymous = await server.request('/v1/stories')
  t.equal(anonymous.status, 503)
  t.equal(anonymous.json().code, 'overloaded')

  const live = await server.request('/health/live')
  t.equal(live.status, 200, 'liveness is exempt: the process is not restarted for being busy')
  t.same(live.json(), { status: 'pass' })
  const ready = await server.request('/health/ready')
  t.equal(ready.status, 200, 'readiness is exempt, and memory only degrades it')
  t.equal(ready.json<Report>().status, 'degraded')
  t.equal(ready.json<Report>().checks.memory?.status, 'degraded')
})
