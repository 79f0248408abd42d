import Fastify from 'fastify'
import t from 'tap'
import health from '../src/index.js'
import { build } from './helpers/build.js'

t.test('GET /health/live answers 200 pass without touching any dependency', async (t) => {
  const app = await build(t)
  let runs = 0
  app.health.addCheck('database', () => { runs++; throw new Error('down') })
  const response = await app.inject('/health/live')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'pass' })
  t.equal(response.headers['cache-control'], 'no-store')
  t.equal(runs, 0, 'no check ran')
})

t.test('the plugin is also a named export and registers with no options', async (t) => {
  const { muejamHealth } = await import('../src/index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(muejamHealth)
  t.ok(app.hasPlugin('@muejam/health'))
  t.equal((await app.inject('/health/live')).statusCode, 200)
  t.same(app.health.checkNames, ['event_loop', 'memory', 'disk'], 'disk measured at / by default')
})

t.test('a custom prefix moves every route', async (t) => {
  const app = await build(t, { prefix: '/internal/status' })
  t.equal((await app.inject('/internal/status/live')).statusCode, 200)
  t.equal((await app.inject('/internal/status/ready')).statusCode, 200)
  t.equal((await app.inject('/internal/status')).json().status, 'healthy')
  t.equal((await app.inject('/health/live')).statusCode, 404)
})

t.test('routeConfig reaches every health route\'s config, for the host\'s other plugins', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const seen: Record<string, unknown> = {}
  // What a host plugin that reads route config (an authentication hook) sees.
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config as unknown as { auth?: unknown, pressureHandler?: unknown }
    seen[request.url] = { auth: config.auth, pressureHandler: typeof config.pressureHandler }
  })
  await app.register(health, { diskUsage: async () => 10, routeConfig: { auth: false, pressureHandler: 'replaced' } })
  for (const url of ['/health/live', '/health/ready', '/health']) t.equal((await app.inject(url)).statusCode, 200)
  const expected = { auth: false, pressureHandler: 'function' }
  t.same(seen, { '/health/live': expected, '/health/ready': expected, '/health': expected }, 'the plugin\'s own pressureHandler is kept')
})

t.test('bad options stop registration with MUEJAM_HEALTH_INVALID_OPTION', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['prefix', { prefix: '' }],
    ['prefix', { prefix: '/' }],
    ['prefix', { prefix: 'health' }],
    ['prefix', { prefix: '/health/' }],
    ['prefix', { prefix: '/a//b' }],
    ['prefix', { prefix: 7 }],
    ['version', { version: 1 }],
    ['diskPath', { diskPath: '' }],
    ['diskPath', { diskPath: true }],
    ['diskUsage', { diskUsage: 50 }],
    ['diskDegradedPercent', { diskDegradedPercent: 0 }],
    ['diskUnhealthyPercent', { diskUnhealthyPercent: 101 }],
    ['diskUnhealthyPercent', { diskDegradedPercent: 90, diskUnhealthyPercent: 80 }],
    ['cacheMs', { cacheMs: -1 }],
    ['cacheMs', { cacheMs: 60_001 }],
    ['checkTimeoutMs', { checkTimeoutMs: 0 }],
    ['maxEventLoopDelayMs', { maxEventLoopDelayMs: 1.5 }],
    ['maxHeapUsedBytes', { maxHeapUsedBytes: -1 }],
    ['maxRssBytes', { maxRssBytes: '1GB' }],
    ['pressureSampleIntervalMs', { pressureSampleIntervalMs: 5 }],
    ['retryAfterS', { retryAfterS: 0 }],
    ['routeConfig', { routeConfig: null }],
    ['routeConfig', { routeConfig: ['auth'] }]
  ]
  for (const [name, options] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(health, options as never).ready() }, {
      code: 'MUEJAM_HEALTH_INVALID_OPTION',
      message: new RegExp(`option "${name}":`)
    }, `${JSON.stringify(options)} is refused`)
    await app.close()
  }
})
