import health from '@muejam/health'
import observability from '@muejam/observability'
import { scrapeSamples } from '@muejam/testing/metrics'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import dbPool, { type DbPoolOptions } from '../src/index.js'
import { labelledDatabase } from './helpers/setup.js'

type Order = 'db-pool first' | 'db-pool last'

async function compose (t: Test, order: Order, options: DbPoolOptions) {
  const app = Fastify()
  t.teardown(() => app.close())
  if (order === 'db-pool first') await app.register(dbPool, options)
  await app.register(observability, { defaultMetrics: false, prefix: 'svc_' })
  await app.register(health, { diskUsage: async () => 10, cacheMs: 0 })
  if (order === 'db-pool last') await app.register(dbPool, options)
  await app.ready()
  return app
}

for (const order of ['db-pool first', 'db-pool last'] as const) {
  t.test(`${order}: the database check is in /health/ready and the pool gauges are on /metrics, from real PostgreSQL`, async (t) => {
    const [primary, replica] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
    const app = await compose(t, order, { primary: { connectionString: primary.url }, replicas: [{ connectionString: replica.url }], poolMax: 3 })

    const ready = await app.inject('/health/ready')
    t.equal(ready.statusCode, 200)
    t.match(ready.json().checks.database, { status: 'healthy' })
    t.ok(app.health.checkNames.includes('database'))

    const samples = await scrapeSamples(app)
    for (const pool of app.dbPool.stats()) {
      t.ok(pool.total >= 1, `${pool.pool} opened a connection for the check`)
      t.equal(samples.get(`svc_db_pool_connections{pool="${pool.pool}"}`), pool.total, `${pool.pool} connections`)
      t.equal(samples.get(`svc_db_pool_idle_connections{pool="${pool.pool}"}`), pool.idle, `${pool.pool} idle`)
      t.equal(samples.get(`svc_db_pool_waiting_requests{pool="${pool.pool}"}`), 0, `${pool.pool} waiting`)
    }
    t.same([...samples.keys()].filter((name) => name.startsWith('svc_db_pool_connections')).sort(),
      ['svc_db_pool_connections{pool="primary"}', 'svc_db_pool_connections{pool="replica-1"}'])
  })
}

t.test('the gauges follow the pools at each scrape: connections held and requests queued', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await compose(t, 'db-pool last', { primary: { connectionString: primary.url }, poolMax: 1, connectTimeoutMs: 10_000 })
  const held = await app.db.connection().execute(async (connection) => {
    const queued = connection.selectFrom('whoami' as never).selectAll().execute()
    const waiting = app.db.selectFrom('whoami' as never).selectAll().execute()
    for (let i = 0; i < 100 && app.dbPool.stats()[0]?.waiting !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    const samples = await scrapeSamples(app)
    await queued
    return { samples, waiting }
  })
  await held.waiting
  t.equal(held.samples.get('svc_db_pool_connections{pool="primary"}'), 1)
  t.equal(held.samples.get('svc_db_pool_idle_connections{pool="primary"}'), 0)
  t.equal(held.samples.get('svc_db_pool_waiting_requests{pool="primary"}'), 1, 'the second query waits for the only connection')
  const after = await scrapeSamples(app)
  t.equal(after.get('svc_db_pool_waiting_requests{pool="primary"}'), 0)
  t.equal(after.get('svc_db_pool_idle_connections{pool="primary"}'), 1)
})

t.test('a dead primary makes readiness 503 through the real health plugin', async (t) => {
  const app = await compose(t, 'db-pool first', { primary: { connectionString: 'postgres://postgres@127.0.0.1:1/none' }, connectTimeoutMs: 300 })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503)
  t.match(response.json().checks.database, { status: 'unhealthy', failing_pools: ['primary'], breakers: { primary: 'closed' } })
})

t.test('healthCheck: false adds no check; without health or observability the plugin starts alone', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await compose(t, 'db-pool first', { primary: { connectionString: primary.url }, healthCheck: false })
  t.notOk(app.health.checkNames.includes('database'))
  t.ok((await scrapeSamples(app)).has('svc_db_pool_connections{pool="primary"}'), 'the gauges are still there')

  const alone = Fastify()
  t.teardown(() => alone.close())
  await alone.register(dbPool, { primary: { connectionString: primary.url } })
  await alone.ready()
  t.equal(alone.hasDecorator('health') || alone.hasDecorator('metrics'), false)
})
