import t from 'tap'
import { build, buildWithLog, sleep } from './helpers/build.js'

t.test('GET /health/ready with passing checks answers 200 healthy with each check, its latency and details', async (t) => {
  const app = await build(t, { version: '1.2.3' })
  app.health.addCheck('database', async () => ({ pool_total: 3 }))
  app.health.addCheck('noop', () => undefined)
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  const body = response.json()
  t.equal(body.status, 'healthy')
  t.equal(body.version, '1.2.3')
  t.ok(Number.isInteger(body.uptime_s), 'uptime_s is whole seconds')
  t.ok(Math.abs(body.uptime_s - process.uptime()) <= 1, `uptime_s ${body.uptime_s} is the process uptime (${process.uptime().toFixed(1)} s)`)
  t.ok(Math.abs(Date.parse(body.timestamp) - Date.now()) < 60_000, 'timestamp is an ISO date of now')
  t.match(body.checks.database, { status: 'healthy', pool_total: 3 })
  t.type(body.checks.database.latency_ms, 'number')
  t.match(body.checks.noop, { status: 'healthy' })
  t.same(Object.keys(body.checks).sort(), ['database', 'disk', 'event_loop', 'memory', 'noop'])
  t.match(body.checks.disk, { status: 'healthy', percent_used: 10 })
  t.match(body.checks.event_loop, { status: 'healthy', delay_ms: Number, utilization: Number })
  t.match(body.checks.memory, { status: 'healthy', heap_used_bytes: Number, rss_bytes: Number })
})

t.test('GET /health answers the same report as /health/ready', async (t) => {
  const app = await build(t)
  const [ready, overview] = await Promise.all([app.inject('/health/ready'), app.inject('/health')])
  t.equal(overview.statusCode, 200)
  t.same(overview.json(), ready.json(), 'both share one cached run')
})

t.test('the version defaults to unknown', async (t) => {
  const app = await build(t)
  t.equal((await app.inject('/health')).json().version, 'unknown')
})

t.test('a critical check that throws makes the service unhealthy (503)', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('database', async () => { throw new Error('down') })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503)
  const body = response.json()
  t.equal(body.status, 'unhealthy')
  t.match(body.checks.database, { status: 'unhealthy', error: 'check failed' })
  t.type(body.checks.database.latency_ms, 'number')
  t.equal((await app.inject('/health')).statusCode, 503)
  t.equal((await app.inject('/health/live')).statusCode, 200, 'liveness checks no dependency')
})

t.test('a non-critical check that fails only degrades the service (200)', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('cache', async () => { throw new Error('redis down') }, { critical: false })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 200)
  t.equal(response.json().status, 'degraded')
  t.match(response.json().checks.cache, { status: 'unhealthy', error: 'check failed' })
})

t.test('a check that reports itself degraded degrades the service even when critical', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('database', () => ({ status: 'degraded', replicas_down: 1 }))
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 200)
  t.equal(response.json().status, 'degraded')
  t.match(response.json().checks.database, { status: 'degraded', replicas_down: 1 })
})

t.test('an unhealthy critical check wins over degraded ones, whatever the order', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('cache', async () => { throw new Error('x') }, { critical: false })
  app.health.addCheck('database', async () => { throw new Error('x') })
  app.health.addCheck('queue', () => ({ status: 'degraded' }))
  const body = (await app.inject('/health/ready')).json()
  t.equal(body.status, 'unhealthy')
})

t.test('a check that outlives its timeout is unhealthy, its signal aborted', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  let seen: AbortSignal | undefined
  app.health.addCheck('slow', (signal) => new Promise<void>((resolve) => {
    seen = signal
    signal.addEventListener('abort', () => resolve())
  }), { timeoutMs: 100 })
  const started = performance.now()
  const response = await app.inject('/health/ready')
  const elapsed = performance.now() - started
  t.equal(response.statusCode, 503)
  t.match(response.json().checks.slow, { status: 'unhealthy', error: 'timed out after 100 ms' })
  t.ok(elapsed >= 90 && elapsed < 1500, `answered after the check's timeout (${Math.round(elapsed)} ms)`)
  t.equal(seen?.aborted, true, 'the check was told to stop')
})

t.test('the default check timeout comes from checkTimeoutMs', async (t) => {
  const app = await build(t, { cacheMs: 0, checkTimeoutMs: 50 })
  app.health.addCheck('hang', () => new Promise(() => {}))
  t.match((await app.inject('/health/ready')).json().checks.hang, { status: 'unhealthy', error: 'timed out after 50 ms' })
})

t.test('checks run concurrently, not one after another', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  let startA!: () => void
  let startB!: () => void
  const aStarted = new Promise<void>((resolve) => { startA = resolve })
  const bStarted = new Promise<void>((resolve) => { startB = resolve })
  // Each check finishes only once the other has started: run in sequence, the first would time out.
  app.health.addCheck('a', async () => { startA(); await bStarted }, { timeoutMs: 5000 })
  app.health.addCheck('b', async () => { startB(); await aStarted }, { timeoutMs: 5000 })
  const body = (await app.inject('/health/ready')).json()
  t.equal(body.checks.a.status, 'healthy')
  t.equal(body.checks.b.status, 'healthy')
})

t.test('a report is reused for cacheMs, then the checks run again', async (t) => {
  const app = await build(t, { cacheMs: 300 })
  let runs = 0
  app.health.addCheck('counted', () => { runs++ })
  await app.inject('/health/ready')
  await app.inject('/health/ready')
  await app.inject('/health')
  t.equal(runs, 1, 'probes inside the cache window run nothing')
  await sleep(400)
  await app.inject('/health/ready')
  t.equal(runs, 2, 'a probe after the window runs the checks again')
})

t.test('concurrent probes share the run in flight', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  let runs = 0
  app.health.addCheck('counted', async () => { runs++; await sleep(100) })
  const responses = await Promise.all(Array.from({ length: 50 }, () => app.inject('/health/ready')))
  t.ok(responses.every((response) => response.statusCode === 200))
  t.equal(runs, 1)
})

t.test('adding a check discards the cached report so it shows at once', async (t) => {
  const app = await build(t, { cacheMs: 60_000 })
  await app.inject('/health/ready')
  app.health.addCheck('late', () => ({ ok: true }))
  t.match((await app.inject('/health/ready')).json().checks.late, { status: 'healthy', ok: true })
})

t.test('app.health.lastReport is null until a run, then the last computed report', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  t.equal(app.health.lastReport, null)
  const report = await app.health.report()
  t.equal(app.health.lastReport, report)
  const body = (await app.inject('/health/ready')).json()
  t.same(app.health.lastReport, body)
  t.same(app.health.checkNames, ['event_loop', 'memory', 'disk'])
})

t.test('a thrown error never reaches the body: no connection string, password or stack', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('database', async () => {
    throw new Error('connect ECONNREFUSED postgres://app:hunter2-secret@db.internal:5432/app')
  })
  app.health.addCheck('cache', async () => {
    const error = new Error('WRONGPASS invalid password redis://:s3cr3t@cache:6379') as Error & { details: unknown }
    error.details = { password: 's3cr3t' }
    throw error
  }, { critical: false })
  const response = await app.inject('/health/ready')
  t.equal(response.statusCode, 503)
  for (const secret of ['hunter2', 's3cr3t', 'postgres://', 'redis://', 'db.internal', 'password', 'ECONNREFUSED', 'at ', '.ts:']) {
    t.notOk(response.body.includes(secret), `the body does not contain ${JSON.stringify(secret)}`)
  }
  t.equal(response.json().checks.database.error, 'check failed')
})

t.test('a check cannot override latency_ms or error with its details', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('sneaky', () => ({ latency_ms: -1, error: 'postgres://u:p@h/db', rows: 1 }))
  const check = (await app.inject('/health/ready')).json().checks.sneaky
  t.equal(check.status, 'healthy')
  t.ok(check.latency_ms >= 0)
  t.equal(check.error, undefined)
  t.equal(check.rows, 1)
})

t.test('a check returning something other than details is unhealthy', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('string', () => 'ok' as never)
  app.health.addCheck('array', () => [] as never)
  app.health.addCheck('status', () => ({ status: 'ok' as never }))
  const checks = (await app.inject('/health/ready')).json().checks
  t.match(checks.string, { status: 'unhealthy', error: 'check returned an invalid result' })
  t.match(checks.array, { status: 'unhealthy', error: 'check returned an invalid result' })
  t.match(checks.status, { status: 'unhealthy', error: 'check returned an invalid status' })
  t.match((await build(t, { cacheMs: 0 })).health.checkNames, ['event_loop', 'memory', 'disk'])
})

t.test('a check that throws synchronously is unhealthy like one that rejects', async (t) => {
  const app = await build(t, { cacheMs: 0 })
  app.health.addCheck('sync', () => { throw new Error('boom') })
  t.match((await app.inject('/health/ready')).json().checks.sync, { status: 'unhealthy', error: 'check failed' })
})

t.test('a failing check is logged when it starts failing and when it recovers, not on every probe', async (t) => {
  const { app, lines } = await buildWithLog(t, { cacheMs: 0 })
  let failing = true
  app.health.addCheck('database', async () => { if (failing) throw new Error('connection refused') })
  await app.inject('/health/ready')
  await app.inject('/health/ready')
  failing = false
  await app.inject('/health/ready')
  await app.inject('/health/ready')
  const health = lines.filter((line) => line.check === 'database')
  t.equal(health.length, 2)
  t.match(health[0], { level: 40, msg: 'health check unhealthy', status: 'unhealthy', critical: true, err: { message: 'connection refused' } })
  t.match(health[1], { level: 30, msg: 'health check recovered', status: 'healthy', previous: 'unhealthy' })
})

t.test('addCheck refuses bad names, duplicates, non-functions and bad options', async (t) => {
  const app = await build(t)
  const noop = () => undefined
  for (const name of ['', 'Database', 'has-dash', '1st', 'a'.repeat(65), 42 as unknown as string]) {
    t.throws(() => app.health.addCheck(name, noop), { code: 'MUEJAM_HEALTH_INVALID_CHECK' }, `name ${JSON.stringify(name)}`)
  }
  app.health.addCheck('database', noop)
  t.throws(() => app.health.addCheck('database', noop), { code: 'MUEJAM_HEALTH_DUPLICATE_CHECK', message: /"database"/ })
  t.throws(() => app.health.addCheck('x', 'nope' as never), { code: 'MUEJAM_HEALTH_INVALID_CHECK', message: /function/ })
  t.throws(() => app.health.addCheck('x', noop, { critical: 'yes' as never }), { code: 'MUEJAM_HEALTH_INVALID_CHECK', message: /critical/ })
  for (const timeoutMs of [0, -1, 1.5, 60_001, Number.NaN]) {
    t.throws(() => app.health.addCheck('x', noop, { timeoutMs }), { code: 'MUEJAM_HEALTH_INVALID_CHECK', message: /timeoutMs/ }, `timeoutMs ${timeoutMs}`)
  }
  t.same(app.health.checkNames, ['event_loop', 'memory', 'disk', 'database'], 'nothing half-registered')
})
