import { createTestDatabase } from '@muejam/testing/database'
import { createTestRedis } from '@muejam/testing/redis'
import { startTcpProxy } from '@muejam/testing/tcp-proxy'
import { Redis } from 'ioredis'
import pg from 'pg'
import t, { type Test } from 'tap'
import { build, waitFor } from './helpers/build.js'

async function listen (t: Test, app: Awaited<ReturnType<typeof build>>) {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const base = `http://127.0.0.1:${address.port}`
  return async (path: string) => {
    const response = await fetch(`${base}${path}`)
    return { status: response.status, body: await response.json() as Record<string, any> }
  }
}

/** A `pg.Pool` reaching PostgreSQL through a proxy the test controls, and a counted `select 1` check. */
async function databaseBehindProxy (t: Test) {
  const database = await createTestDatabase(t, 'health')
  const url = new URL(database.url)
  const proxy = await startTcpProxy(t, { host: url.hostname, port: Number(url.port || 5432) })
  url.host = `127.0.0.1:${proxy.port}`
  const pool = new pg.Pool({ connectionString: url.href, max: 4, connectionTimeoutMillis: 1000 })
  // Connections broken by the cut are reported here; the pool replaces them.
  pool.on('error', () => {})
  t.teardown(() => pool.end())
  const counter = { queries: 0 }
  const check = async () => {
    counter.queries++
    await pool.query('select 1')
  }
  return { proxy, pool, check, counter }
}

t.test('PostgreSQL cut off: readiness 503 within 2 s with database unhealthy, liveness 200; restored: 200 again', async (t) => {
  const { proxy, check } = await databaseBehindProxy(t)
  const app = await build(t)
  app.health.addCheck('database', check, { timeoutMs: 500 })
  const get = await listen(t, app)

  const healthy = await get('/health/ready')
  t.equal(healthy.status, 200)
  t.match(healthy.body, { status: 'healthy', checks: { database: { status: 'healthy' } } })

  proxy.blackhole()
  const cut = await waitFor(() => get('/health/ready'), (r) => r.status === 503, 10_000)
  t.equal(cut.value.status, 503)
  t.ok(cut.elapsed < 2000, `503 within 2 s of the cut (${Math.round(cut.elapsed)} ms)`)
  t.match(cut.value.body, { status: 'unhealthy', checks: { database: { status: 'unhealthy', error: 'timed out after 500 ms' } } })
  t.equal((await get('/health/live')).status, 200, 'liveness does not depend on the database')
  t.equal((await get('/health')).status, 503)

  proxy.restore()
  const back = await waitFor(() => get('/health/ready'), (r) => r.status === 200, 10_000)
  t.equal(back.value.status, 200, 'ready again without a restart')
  t.match(back.value.body, { status: 'healthy', checks: { database: { status: 'healthy' } } })
})

t.test('PostgreSQL refusing connections: readiness 503 with the default 1 s timeout, recovers on restore', async (t) => {
  const { proxy, check } = await databaseBehindProxy(t)
  const app = await build(t)
  app.health.addCheck('database', check)
  const get = await listen(t, app)
  t.equal((await get('/health/ready')).status, 200)

  proxy.reset()
  const cut = await waitFor(() => get('/health/ready'), (r) => r.status === 503, 10_000)
  t.ok(cut.elapsed < 2000, `503 within 2 s (${Math.round(cut.elapsed)} ms)`)
  t.match(cut.value.body.checks.database, { status: 'unhealthy', error: 'check failed' })
  t.notOk(JSON.stringify(cut.value.body).includes('127.0.0.1'), 'the error does not leak the address')

  proxy.restore()
  const back = await waitFor(() => get('/health/ready'), (r) => r.status === 200, 10_000)
  t.equal(back.value.status, 200)
})

t.test('Redis cut off as a non-critical cache check: degraded with 200; restored: healthy', async (t) => {
  const redisTarget = await createTestRedis(t, 'health')
  const url = new URL(redisTarget.url)
  const proxy = await startTcpProxy(t, { host: url.hostname, port: Number(url.port || 6379) })
  const redis = new Redis({
    host: '127.0.0.1',
    port: proxy.port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    retryStrategy: () => 100,
    lazyConnect: true
  })
  redis.on('error', () => {})
  await redis.connect()
  t.teardown(() => redis.disconnect())

  const app = await build(t)
  app.health.addCheck('cache', async () => { await redis.ping() }, { critical: false })
  const get = await listen(t, app)
  t.match((await get('/health/ready')).body, { status: 'healthy', checks: { cache: { status: 'healthy' } } })

  proxy.blackhole()
  const cut = await waitFor(() => get('/health/ready'), (r) => r.body.status === 'degraded', 10_000)
  t.equal(cut.value.status, 200, 'a non-critical failure keeps the service ready')
  t.ok(cut.elapsed < 2000, `degraded within 2 s (${Math.round(cut.elapsed)} ms)`)
  t.match(cut.value.body, { status: 'degraded', checks: { cache: { status: 'unhealthy' } } })

  proxy.restore()
  const back = await waitFor(() => get('/health/ready'), (r) => r.body.status === 'healthy', 10_000)
  t.equal(back.value.status, 200)
  t.match(back.value.body.checks.cache, { status: 'healthy' })
})

t.test('100 concurrent readiness probes cause at most one database round trip per second', async (t) => {
  const { check, counter } = await databaseBehindProxy(t)
  const app = await build(t)
  app.health.addCheck('database', check)
  const get = await listen(t, app)

  const started = performance.now()
  const responses = await Promise.all(Array.from({ length: 100 }, () => get('/health/ready')))
  const elapsed = performance.now() - started
  t.ok(responses.every((response) => response.status === 200), 'every probe answered 200')
  t.ok(counter.queries >= 1, 'the database was asked')
  t.ok(counter.queries <= 1 + Math.floor(elapsed / 1000),
    `${counter.queries} round trip(s) for 100 probes in ${Math.round(elapsed)} ms`)

  const again = await Promise.all(Array.from({ length: 100 }, () => get('/health')))
  const total = performance.now() - started
  t.ok(again.every((response) => response.status === 200))
  t.ok(counter.queries <= 1 + Math.floor(total / 1000), `${counter.queries} round trip(s) for 200 probes in ${Math.round(total)} ms`)
})
