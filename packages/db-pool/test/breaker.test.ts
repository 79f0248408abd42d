import health from '@muejam/health'
import observability from '@muejam/observability'
import { startTcpProxy, type TcpProxy } from '@muejam/testing/tcp-proxy'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import dbPool, { type DbPoolOptions } from '../src/index.js'
import { labelledDatabase, waitFor } from './helpers/setup.js'
import { percentile } from '@muejam/testing/percentile'

/*
 * PostgreSQL unreachable the slow way: a TCP proxy in front of it that accepts connections and
 * never answers (a network partition), so every connection attempt waits connectTimeoutMs.
 * The proxy counts the connections it accepted: none may arrive while the breaker is open.
 */

const CONNECT_TIMEOUT_MS = 1000
const THRESHOLD = 3
const COOL_OFF_MS = 3000
// A query that waits for a connection takes the whole connect timeout; an open breaker answers
// without an attempt. Half the timeout tells them apart on any machine; the p99 figures are
// printed, not asserted.
const FAST_MS = CONNECT_TIMEOUT_MS / 2

async function timed (app: FastifyInstance, url = '/who'): Promise<LightMyRequestResponse & { ms: number }> {
  const started = performance.now()
  const response = await app.inject(url)
  return Object.assign(response, { ms: performance.now() - started })
}

async function behindProxy (t: Test, options: Partial<DbPoolOptions> = {}, withContracts = false) {
  const database = await labelledDatabase(t, 'breaker')
  const url = new URL(database.url)
  const proxy: TcpProxy = await startTcpProxy(t, { host: url.hostname, port: Number(url.port || 5432) })
  url.port = String(proxy.port)
  const app = Fastify()
  t.teardown(() => app.close())
  if (withContracts) {
    await app.register(health, { diskPath: false, cacheMs: 0 })
    await app.register(observability, { prefix: 'svc_', defaultMetrics: false })
  }
  await app.register(dbPool, {
    primary: { connectionString: url.href },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    idleTimeoutMs: 100,
    breakerFailureThreshold: THRESHOLD,
    breakerCoolOffMs: COOL_OFF_MS,
    ...options
  })
  app.get('/who', async (request) => (await sql<{ name: string }>`select name from whoami`.execute(request.db)).rows[0])
  await app.ready()
  t.same((await app.inject('/who')).json(), { name: 'breaker' })
  // No idle connection left: the outage has to be met by new connection attempts.
  await waitFor(async () => app.dbPool.stats()[0]?.total === 0, 5000, 'the idle connection to close')
  return { app, proxy }
}

t.test('PostgreSQL unreachable: after the threshold of timed-out connection attempts, 503 db_unavailable with Retry-After at once, no connection attempted; one probe after the cool-off; recovers by itself', async (t) => {
  const { app, proxy } = await behindProxy(t)
  proxy.blackhole()

  const opening: Array<LightMyRequestResponse & { ms: number }> = []
  while (app.dbPool.breakers().primary === 'closed') opening.push(await timed(app))
  const openedAt = performance.now()
  t.equal(opening.length, THRESHOLD, `${THRESHOLD} requests tried to connect`)
  t.ok(opening.every((response) => response.statusCode === 503 && response.ms >= CONNECT_TIMEOUT_MS * 0.9), 'each waited for the connect timeout')
  const acceptedWhenOpened = proxy.accepted

  const open: Array<LightMyRequestResponse & { ms: number }> = []
  while (performance.now() - openedAt < COOL_OFF_MS - 700) open.push(await timed(app))
  t.ok(open.length > 50, `a steady stream of requests (${open.length})`)
  t.same([...new Set(open.map((response) => response.statusCode))], [503])
  t.same(open[0]?.json(), { statusCode: 503, code: 'db_unavailable', error: 'Service Unavailable', message: 'The database is busy or unreachable; try again shortly.' })
  t.equal(open[0]?.headers['retry-after'], String(Math.ceil(COOL_OFF_MS / 1000)), 'Retry-After: the cool-off left, in whole seconds')
  t.equal(open.at(-1)?.headers['retry-after'], '1')
  t.equal(proxy.accepted, acceptedWhenOpened, 'no connection attempt while open')
  const times = open.map((response) => response.ms)
  const p99 = percentile(times, 99)
  t.comment(`PostgreSQL unreachable, breaker open: ${open.length} requests, p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (connect timeout ${CONNECT_TIMEOUT_MS} ms)`)
  t.ok(p99 < FAST_MS, `p99 ${p99.toFixed(2)} ms < ${FAST_MS} ms`)

  await waitFor(async () => app.dbPool.breakers().primary === 'half_open', COOL_OFF_MS, 'the cool-off to end')
  const halfOpen = await Promise.all(Array.from({ length: 5 }, () => timed(app)))
  t.equal(halfOpen.filter((response) => response.ms >= CONNECT_TIMEOUT_MS * 0.9).length, 1, 'one probe tried to connect and waited')
  t.same([...new Set(halfOpen.map((response) => response.statusCode))], [503])
  t.equal(proxy.accepted, acceptedWhenOpened + 1, 'the probe is the only connection attempted')
  t.equal(app.dbPool.breakers().primary, 'open', 'the failed probe re-opened the breaker')
  const reopenedAt = performance.now()

  proxy.restore()
  let back: LightMyRequestResponse | undefined
  while (back === undefined && performance.now() - reopenedAt < COOL_OFF_MS + 3000) {
    const response = await app.inject('/who')
    if (response.statusCode === 200) back = response
    else await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const recoveredMs = performance.now() - reopenedAt
  t.same(back?.json(), { name: 'breaker' }, 'answers again without a restart')
  t.ok(recoveredMs < COOL_OFF_MS + 1000, `recovered ${recoveredMs.toFixed(0)} ms after the probe failed (cool-off ${COOL_OFF_MS} ms)`)
  t.same(app.dbPool.breakers(), { primary: 'closed' })
})

t.test('a pool exhausted by slow queries does not open the breaker: its waits are load, not an outage', async (t) => {
  const { app } = await behindProxy(t, { poolMax: 1, connectTimeoutMs: 200, breakerFailureThreshold: 1 })
  const slow = sql`select pg_sleep(1)`.execute(app.db)
  await waitFor(async () => app.dbPool.stats()[0]?.total === 1, 2000, 'the slow query to hold the connection')
  const refused = await app.inject('/who')
  t.equal(refused.statusCode, 503)
  t.equal(app.dbPool.breakers().primary, 'closed')
  await slow
  t.equal((await app.inject('/who')).statusCode, 200)
})

t.test('the breaker in /health (the database check\'s details, unhealthy) and in db_pool_breaker_state{pool}', async (t) => {
  const { app, proxy } = await behindProxy(t, { breakerFailureThreshold: 1, breakerCoolOffMs: 60_000 }, true)
  const ready = await app.inject('/health')
  t.match(ready.json().checks.database, { status: 'healthy', breakers: { primary: 'closed' } })
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /^# HELP svc_db_pool_breaker_state State of the pool's circuit breaker on getting a connection: 0 closed, 1 half-open, 2 open\.$/m)
  t.match(metrics, /^svc_db_pool_breaker_state\{pool="primary"\} 0$/m)

  await waitFor(async () => app.dbPool.stats()[0]?.total === 0, 5000, 'the check\'s connection to close')
  proxy.reset()
  t.equal((await app.inject('/who')).statusCode, 503)
  const down = await app.inject('/health/ready')
  t.equal(down.statusCode, 503, 'the database check is critical')
  t.match(down.json().checks.database, { status: 'unhealthy', failing_pools: ['primary'], breakers: { primary: 'open' } })
  t.match((await app.inject('/metrics')).body, /^svc_db_pool_breaker_state\{pool="primary"\} 2$/m)
})

t.test('a replica whose breaker is open sends its reads to the primary at once', async (t) => {
  const primary = await labelledDatabase(t, 'breaker_primary')
  const replica = await labelledDatabase(t, 'breaker_replica')
  const url = new URL(replica.url)
  const proxy = await startTcpProxy(t, { host: url.hostname, port: Number(url.port || 5432) })
  url.port = String(proxy.port)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(dbPool, {
    primary: { connectionString: primary.url },
    replicas: [{ connectionString: url.href }],
    breakerFailureThreshold: 1,
    breakerCoolOffMs: 60_000,
    replicaRetryMs: 1,
    idleTimeoutMs: 100
  })
  app.get('/who', async (request) => (await sql<{ name: string }>`select name from whoami`.execute(request.dbRead)).rows[0])
  await app.ready()
  t.same((await app.inject('/who')).json(), { name: 'breaker_replica' })
  await waitFor(async () => app.dbPool.stats()[1]?.total === 0, 5000, 'the replica\'s idle connection to close')
  proxy.reset()
  t.same((await app.inject('/who')).json(), { name: 'breaker_primary' }, 'the failed attempt opened the breaker; the read went to the primary')
  t.same(app.dbPool.breakers(), { primary: 'closed', 'replica-1': 'open' })
  proxy.restore()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const accepted = proxy.accepted
  t.same((await app.inject('/who')).json(), { name: 'breaker_primary' }, 'still the primary while the replica\'s breaker is open')
  t.equal(proxy.accepted, accepted, 'no attempt on the replica')
})
