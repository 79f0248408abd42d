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

t.test('no event-loop shedding until two samples after listen, however long before ready() ran', async (t) => {
  const intervalMs = 1500
  const app = await build(t, { maxEventLoopDelayMs: 1, pressureSampleIntervalMs: intervalMs, cacheMs: 0 })
  app.get('/stories', async () => ({ items: [] }))
  const blockTheLoop = () => {
    const until = performance.now() + 300
    while (performance.now() < until);
  }
  await app.ready()
  // Whatever grace ready() gave is over by the time the server listens.
  await sleep(2.5 * intervalMs)
  const listening = Date.now()
  await app.listen({ host: '127.0.0.1', port: 0 })

  const { value: delayed } = await waitFor(async () => {
    blockTheLoop()
    await sleep(50)
    return app.memoryUsage().eventLoopDelay
  }, (delay) => delay > 1, 2 * intervalMs, 0)
  const early = await app.inject('/stories')
  t.ok(Date.now() < listening + 2 * intervalMs, 'still within two samples of listen')
  t.ok(delayed > 1, `a sample measured ${delayed.toFixed(1)} ms of delay, above the 1 ms threshold`)
  t.equal(early.statusCode, 200, 'not shed')

  await sleep(listening + 2 * intervalMs - Date.now())
  const { value: late } = await waitFor(async () => {
    blockTheLoop()
    return app.inject('/stories')
  }, (response) => response.statusCode === 503, 10_000, 0)
  t.equal(late.statusCode, 503, 'the same delay sheds once the two samples have passed')
  t.equal(late.json().code, 'overloaded')
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
