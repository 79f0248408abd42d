import observability from '@muejam/observability'
import { scrapeSamples } from '@muejam/testing/metrics'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t from 'tap'
import health from '../src/index.js'

/** What a plugin that owns a resource does: adds its check once every plugin has registered. */
function owner (name: string, critical = true) {
  return fp(async (app: FastifyInstance) => {
    app.addHook('onReady', async () => {
      if (app.hasDecorator('health')) app.health.addCheck(name, () => ({ owner: name }), { critical })
    })
  }, { name: `owner-${name}` })
}

t.test('a plugin registered before health and one registered after both add their checks in onReady and appear in /health/ready', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(owner('registered_before'))
  await app.register(health, { diskUsage: async () => 10 })
  await app.register(owner('registered_after', false))
  await app.ready()

  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 200)
  const checks = response.json().checks
  t.match(checks.registered_before, { status: 'healthy', owner: 'registered_before' })
  t.match(checks.registered_after, { status: 'healthy', owner: 'registered_after' })
  t.same(app.health.checkNames, ['event_loop', 'memory', 'disk', 'registered_before', 'registered_after'])
})

t.test('a check added after ready, even after a cached report, shows in the next report and counts for readiness', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(health, { diskUsage: async () => 10, cacheMs: 60_000 })
  await app.ready()
  t.equal((await app.inject('/health/ready')).statusCode, 200)
  app.health.addCheck('late_database', async () => { throw new Error('down') })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503, 'the late critical check decides readiness')
  t.match(response.json().checks.late_database, { status: 'unhealthy', error: 'check failed' })
})

t.test('without health, an owning plugin starts and registers nothing', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(owner('alone'))
  await app.ready()
  t.equal(app.hasDecorator('health'), false)
})

for (const order of ['observability first', 'health first'] as const) {
  t.test(`${order}: health_status and health_check_status follow the last report on app.metrics, under its prefix`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    const registerObservability = () => app.register(observability, { defaultMetrics: false, prefix: 'svc_' })
    if (order === 'observability first') await registerObservability()
    let failing = false
    await app.register(health, { diskUsage: async () => 10, cacheMs: 0 })
    if (order === 'health first') await registerObservability()
    app.health.addCheck('database', async () => { if (failing) throw new Error('down') })
    await app.ready()

    let samples = await scrapeSamples(app)
    t.notOk([...samples.keys()].some((name) => name.startsWith('svc_health')), 'no samples before the first report')

    await app.inject('/health/ready')
    samples = await scrapeSamples(app)
    t.equal(samples.get('svc_health_status{status="healthy"}'), 1)
    t.equal(samples.get('svc_health_check_status{check="database",status="healthy"}'), 1)
    t.equal(samples.get('svc_health_check_status{check="disk",status="healthy"}'), 1)

    failing = true
    await app.inject('/health/ready')
    samples = await scrapeSamples(app)
    t.equal(samples.get('svc_health_status{status="unhealthy"}'), 1)
    t.equal(samples.get('svc_health_status{status="healthy"}'), undefined, 'only the current status')
    t.equal(samples.get('svc_health_check_status{check="database",status="unhealthy"}'), 1)
    t.equal(samples.get('svc_health_check_status{check="database",status="healthy"}'), undefined)
    t.equal([...samples.keys()].filter((name) => name.startsWith('svc_health_status')).length, 1)
  })
}
