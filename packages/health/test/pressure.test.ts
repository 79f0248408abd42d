import t from 'tap'
import { build, sleep, waitFor } from './helpers/build.js'

t.test('beyond the heap threshold every route but /health* answers 503 overloaded with Retry-After', async (t) => {
  const app = await build(t, { maxHeapUsedBytes: 1, pressureSampleIntervalMs: 20, retryAfterS: 7 })
  app.get('/stories', async () => ({ items: [] }))
  await app.ready()
  const { value: response } = await waitFor(() => app.inject('/stories'), (r) => r.statusCode === 503, 5000, 20)
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '7')
  t.match(response.json(), { statusCode: 503, code: 'overloaded', message: 'The server is overloaded; retry later.' })
  t.equal((await app.inject('/no-such-route')).statusCode, 503, 'unknown routes are shed too')

  t.equal((await app.inject('/health/live')).statusCode, 200, 'liveness still answers')
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200, 'readiness answers; memory pressure only degrades')
  t.match(ready.json(), { status: 'degraded', checks: { memory: { status: 'degraded' } } })
  t.equal((await app.inject('/health')).statusCode, 200)
})

t.test('beyond the RSS threshold the service sheds load and memory is degraded', async (t) => {
  const app = await build(t, { maxRssBytes: 1, pressureSampleIntervalMs: 20, cacheMs: 0 })
  app.get('/stories', async () => ({ items: [] }))
  await app.ready()
  const { value: response } = await waitFor(() => app.inject('/stories'), (r) => r.statusCode === 503, 5000, 20)
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '10', 'Retry-After defaults to 10 s')
  t.match((await app.inject('/health/ready')).json().checks.memory, { status: 'degraded' })
})

t.test('an event-loop delay beyond the threshold sheds load and degrades event_loop', async (t) => {
  const app = await build(t, { maxEventLoopDelayMs: 1, pressureSampleIntervalMs: 500, cacheMs: 0 })
  app.get('/stories', async () => ({ items: [] }))
  await app.ready()
  const block = () => {
    const until = performance.now() + 300
    while (performance.now() < until);
    return app.inject('/stories')
  }
  const { value: response } = await waitFor(block, (r) => r.statusCode === 503, 10_000, 0)
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'overloaded')
  const report = await app.health.report()
  t.equal(report.checks.event_loop?.status, 'degraded')
  t.ok((report.checks.event_loop?.delay_ms as number) > 1)
})

t.test('under the thresholds nothing is shed', async (t) => {
  const app = await build(t, { pressureSampleIntervalMs: 20 })
  app.get('/stories', async () => ({ items: [] }))
  await app.ready()
  await sleep(100)
  t.equal((await app.inject('/stories')).statusCode, 200)
})

t.test('with every threshold at 0 nothing is ever shed and the checks still report', async (t) => {
  const app = await build(t, { maxEventLoopDelayMs: 0, maxHeapUsedBytes: 0, maxRssBytes: 0, pressureSampleIntervalMs: 20 })
  app.get('/stories', async () => ({ items: [] }))
  await app.ready()
  await sleep(100)
  t.equal((await app.inject('/stories')).statusCode, 200)
  const checks = (await app.inject('/health/ready')).json().checks
  t.equal(checks.event_loop.status, 'healthy')
  t.equal(checks.memory.status, 'healthy')
  t.ok(checks.memory.heap_used_bytes > 0, 'memory is sampled')
})
