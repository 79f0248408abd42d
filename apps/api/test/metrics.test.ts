import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { authHeaders, signToken } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { parseMetrics, samplesOf, scrape, valueOf } from './helpers/metrics.js'
import { createStory, rowCounts } from './helpers/stories.js'

const METRICS_TOKEN = randomBytes(32).toString('base64url')
const DURATION = 'muejam_http_request_duration_seconds'

/** A token the API cannot verify: same claims, signed by a key it does not trust. */
function foreignSignature (userId: string): string {
  const [header, payload] = signToken(userId).split('.') as [string, string]
  const [, , signature] = signToken(`${userId}_other`).split('.') as [string, string, string]
  return `${header}.${payload}.${signature}`
}

t.test('after known traffic /metrics reports exact counts: auth failures by reason, durations by route pattern, requests in flight', async (t) => {
  const env = await databaseEnv(t, 'metrics_counts')
  const app = await build(t, { ...env, METRICS_TOKEN })
  const story = await createStory(app, 'user_2abcMetricsAuthor', { title: 'Counted', publish: true })

  const expired = signToken('user_2abcMetricsReader', { iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_000_600 })
  const statuses: number[] = []
  const send = async (headers: Record<string, string> = {}, url = `/v1/stories/${story.id}`) => {
    const response = await app.inject({ url, headers })
    statuses.push(response.statusCode)
    return response
  }
  for (let i = 0; i < 3; i++) t.equal((await send({ authorization: `Bearer ${expired}` })).json().code, 'token_expired')
  for (let i = 0; i < 2; i++) t.equal((await send({ authorization: `Bearer ${foreignSignature('user_2abcMetricsReader')}` })).json().code, 'token_invalid_signature')
  t.equal((await send({ authorization: `Bearer ${signToken('user_2abcMetricsReader', { iss: 'https://issuer.muejam.test/' })}` })).json().code, 'token_invalid_issuer')
  for (let i = 0; i < 4; i++) await send()
  await send(authHeaders('user_2abcMetricsReader'))
  for (let i = 0; i < 2; i++) await send({}, `/v1/stories/${randomUUID()}`)
  await send({}, `/nowhere/${story.id}`)
  t.same(statuses, [401, 401, 401, 401, 401, 401, 200, 200, 200, 200, 200, 404, 404, 404])

  const { text, samples } = await scrape(app, METRICS_TOKEN)

  t.equal(valueOf(samples, 'muejam_auth_failures_total', { reason: 'token_expired' }), 3, '3 expired tokens → token_expired 3')
  t.equal(valueOf(samples, 'muejam_auth_failures_total', { reason: 'token_invalid_signature' }), 2)
  t.equal(valueOf(samples, 'muejam_auth_failures_total', { reason: 'token_invalid_issuer' }), 1)
  const failures = samplesOf(samples, 'muejam_auth_failures_total')
  t.ok(failures.length >= 10, 'every reason is exported')
  t.equal(failures.reduce((sum, sample) => sum + sample.value, 0), 6, 'and no other failure was counted')

  const route = { method: 'GET', route: '/v1/stories/:id' }
  t.equal(valueOf(samples, `${DURATION}_count`, { ...route, status: '200' }), 5, '5 answered 200 under the route pattern')
  t.equal(valueOf(samples, `${DURATION}_count`, { ...route, status: '401' }), 6, 'refused tokens are timed under the pattern too')
  t.equal(valueOf(samples, `${DURATION}_count`, { ...route, status: '404' }), 2)
  t.equal(valueOf(samples, `${DURATION}_bucket`, { ...route, status: '200', le: '+Inf' }), 5)
  const sum = valueOf(samples, `${DURATION}_sum`, { ...route, status: '200' }) as number
  t.ok(sum > 0 && sum < 60, `a plausible total duration (${sum} s)`)
  const buckets = samplesOf(samples, `${DURATION}_bucket`, { ...route, status: '200' })
  for (let i = 1; i < buckets.length; i++) t.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), 'buckets are cumulative')
  t.equal(valueOf(samples, `${DURATION}_count`, { method: 'POST', route: '/v1/stories', status: '201' }), 1, 'the story creation')
  t.equal(valueOf(samples, `${DURATION}_count`, { method: 'GET', route: 'unmatched', status: '404' }), 1, 'a URL matching no route is "unmatched"')

  const routes = new Set(samplesOf(samples, `${DURATION}_count`).map((sample) => sample.labels.route))
  t.same([...routes].sort(), ['/v1/stories', '/v1/stories/:id', 'unmatched'], 'only route patterns, never a raw URL')
  t.notOk(text.includes(story.id), 'no story id anywhere in the exposition')
  t.equal(valueOf(samples, 'muejam_http_requests_in_flight'), 1, 'only the scrape itself is in flight')
  t.equal(valueOf(samples, 'muejam_audit_events_total', { event: 'auth.failed' }), 6, 'each refusal went to the audit log')
  t.ok(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total'), 'process metrics')
  t.ok(samples.some((sample) => sample.name.startsWith('nodejs_')), 'runtime metrics')

  const again = parseMetrics((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body)
  t.equal(valueOf(again, `${DURATION}_count`, { method: 'GET', route: '/metrics', status: '200' }), 1, 'the previous scrape is counted once it answered')
})

t.test('/metrics answers 401 without METRICS_TOKEN\'s bearer and 200 with it; it is never rate limited and never read as a JWT', async (t) => {
  const env = await databaseEnv(t, 'metrics_token')
  const app = await build(t, { ...env, METRICS_TOKEN, RATE_LIMIT_MAX: '2' })
  const db = inspectDatabase(t, env.DATABASE_URL)

  const missing = await app.inject('/metrics')
  t.equal(missing.statusCode, 401)
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="metrics"')
  t.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(missing.json(), { status: 401, code: 'unauthenticated', request_id: missing.headers['x-request-id'] })
  t.notOk(missing.body.includes('muejam_'), 'no metric leaks with the refusal')

  const refusals = [
    { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
    { authorization: `Bearer ${METRICS_TOKEN}x` },
    { authorization: `Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}` },
    // A valid session token is not the metrics token.
    authHeaders('user_2abcScraper')
  ]
  for (const headers of refusals) {
    const response = await app.inject({ url: '/metrics', headers })
    t.equal(response.statusCode, 401, `refused: ${String(headers.authorization).slice(0, 12)}…`)
    t.equal(response.json().code, 'unauthenticated', 'the metrics refusal, not a token_* code: no JWT verification ran')
  }
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).headers['www-authenticate'],
    'Bearer realm="metrics", error="invalid_token"')

  // Twelve scrapes against an anonymous budget of 2 a minute.
  for (let i = 0; i < 12; i++) {
    const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    t.equal(response.statusCode, 200)
    t.equal(response.headers['x-ratelimit-limit'], undefined, 'no rate-limit headers on /metrics')
    t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  }
  const limited = []
  for (let i = 0; i < 3; i++) limited.push((await app.inject('/v1/stories')).statusCode)
  t.same(limited, [200, 200, 429], 'the budget is real for the API routes')

  const { samples } = await scrape(app, METRICS_TOKEN)
  t.equal(valueOf(samples, 'muejam_rate_limit_refused_total'), 1, 'one rate-limit refusal')
  t.equal(samplesOf(samples, 'muejam_auth_failures_total').reduce((sum, sample) => sum + sample.value, 0), 0,
    'no scrape, refused or not, counted as an authentication failure')
  t.equal(valueOf(samples, 'muejam_audit_events_total', { event: 'metrics.auth_failed' }), 6, 'failed scrapes are audited')
  t.equal(valueOf(samples, `${DURATION}_count`, { method: 'GET', route: '/metrics', status: '401' }), 6)
  t.equal(valueOf(samples, `${DURATION}_count`, { method: 'GET', route: '/v1/stories', status: '429' }), 1)
  t.same(await rowCounts(db), { user_profiles: 0, stories: 0, chapters: 0, moderator_roles: 0 }, 'the session token used on /metrics created no profile')
})

t.test('without METRICS_TOKEN (outside production) /metrics is open', async (t) => {
  const app = await build(t, await databaseEnv(t, 'metrics_open'))
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.ok(parseMetrics(response.body).length > 0)
})

t.test('pool gauges per pool, health status per check and rate-limit store errors follow the API\'s state', async (t) => {
  const env = await databaseEnv(t, 'metrics_state')
  // A replica (the same database, as a second pool) and a Redis that is not there: the store
  // fails open and the health report degrades.
  const app = await build(t, {
    ...env,
    METRICS_TOKEN,
    DATABASE_REPLICA_URLS: env.DATABASE_URL,
    REDIS_URL: 'redis://127.0.0.1:1',
    RATE_LIMIT_ON_STORE_ERROR: 'open'
  })
  for (let i = 0; i < 3; i++) t.equal((await app.inject('/v1/stories')).statusCode, 200, 'the store fails open')
  const health = await app.inject('/health')
  t.equal(health.statusCode, 200)
  const report = health.json() as { status: string, checks: Record<string, { status: string }> }
  t.equal(report.status, 'degraded')
  const failing = Object.entries(report.checks).filter(([, check]) => check.status !== 'healthy')
  t.same(failing.map(([, check]) => check.status), ['unhealthy'], 'one check fails: the rate-limit store\'s Redis')
  const [storeCheck] = failing[0] ?? ['none']

  const { samples } = await scrape(app, METRICS_TOKEN)
  t.equal(valueOf(samples, 'muejam_rate_limit_store_errors_total'), 3, 'one store error per limited request')
  t.equal(valueOf(samples, 'muejam_rate_limit_refused_total'), 0)

  t.equal(valueOf(samples, 'muejam_health_status', { status: 'degraded' }), 1)
  t.equal(samplesOf(samples, 'muejam_health_status').length, 1, 'only the current overall status')
  const checks = samplesOf(samples, 'muejam_health_check_status')
  t.same(
    Object.fromEntries(checks.map((sample) => [sample.labels.check, sample.labels.status])),
    Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, check.status])),
    'one sample per check, with the status /health reported'
  )
  t.ok(checks.every((sample) => sample.value === 1))
  t.equal(valueOf(samples, 'muejam_health_check_status', { check: 'database', status: 'healthy' }), 1)
  t.equal(valueOf(samples, 'muejam_health_check_status', { check: storeCheck, status: 'unhealthy' }), 1)

  const stats = app.dbPool.stats()
  t.same(stats.map((pool) => pool.pool), ['primary', 'replica-1'])
  for (const pool of stats) {
    t.ok(pool.total >= 1, `${pool.pool} has a connection after the health check`)
    t.equal(valueOf(samples, 'muejam_db_pool_connections', { pool: pool.pool }), pool.total, `${pool.pool} total`)
    t.equal(valueOf(samples, 'muejam_db_pool_idle_connections', { pool: pool.pool }), pool.idle, `${pool.pool} idle`)
    t.equal(valueOf(samples, 'muejam_db_pool_waiting_requests', { pool: pool.pool }), 0, `${pool.pool} waiting`)
  }
  t.equal(samplesOf(samples, 'muejam_db_pool_connections').length, 2, 'one gauge per pool')
})

t.test('a request that outlives its deadline is counted in muejam_request_timeouts_total and timed as a 504', async (t) => {
  const env = await databaseEnv(t, 'metrics_timeout')
  const app = await build(t, { ...env, METRICS_TOKEN, REQUEST_TIMEOUT_MS: '1500' })
  const db = inspectDatabase(t, env.DATABASE_URL)
  const story = await createStory(app, 'user_2abcMetricsSlow', { title: 'Locked', publish: true })

  // The test holds the story's row lock, so the author's update waits in PostgreSQL.
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked: () => void = () => {}
  const lockTaken = new Promise<void>((resolve) => { locked = resolve })
  const holder = db.transaction().execute(async (trx) => {
    await trx.selectFrom('stories').select('id').where('id', '=', story.id).forUpdate().execute()
    locked()
    await released
  })
  t.teardown(async () => {
    release()
    await holder
  })
  await lockTaken
  const waitingUpdates = async () => {
    const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and (query ilike 'update %stories%' or query ilike 'select %stories% for update%')`.execute(db)
    return Number(rows[0]?.n)
  }
  const waitFor = async (count: number) => {
    const deadline = Date.now() + 10_000
    while (await waitingUpdates() !== count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    return waitingUpdates()
  }
  const answer = app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}`, headers: authHeaders('user_2abcMetricsSlow'), body: { title: 'Changed' } })
  t.equal(await waitFor(1), 1, 'the PATCH waits on the row lock in PostgreSQL')
  const response = await answer
  t.equal(response.statusCode, 504)
  t.equal(response.json().code, 'request_timeout')
  // The cancellation reaches PostgreSQL on a connection of its own: the lock is released only
  // once the waiting update is gone, or it would go through.
  t.equal(await waitFor(0), 0, 'the blocked PATCH was cancelled in PostgreSQL')
  release()
  await holder

  const { samples } = await scrape(app, METRICS_TOKEN)
  t.equal(valueOf(samples, 'muejam_request_timeouts_total'), 1)
  t.equal(valueOf(samples, `${DURATION}_count`, { method: 'PATCH', route: '/v1/stories/:id', status: '504' }), 1)
  const row = await db.selectFrom('stories').select('title').where('id', '=', story.id).executeTakeFirstOrThrow()
  t.equal(row.title, 'Locked', 'the timed-out update was not applied')
})
