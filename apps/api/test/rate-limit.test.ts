import { randomBytes } from 'node:crypto'
import { createTestDatabase } from '@muejam/testing/database'
import { OwnRedis } from '@muejam/testing/redis-server'
import t from 'tap'
import { type ApiProcess, type ApiResponse, migrate, startApiProcess, startApiProcesses } from './helpers/api-process.js'
import { authHeaders, signToken } from './helpers/auth.js'
import { inspectDatabase } from './helpers/build.js'
import { claimRedisDatabase } from './helpers/redis.js'
import { rowCounts } from './helpers/stories.js'

/*
 * The rate limit as clients meet it: real `dist/server.js` processes sharing one Redis,
 * driven over real sockets. Every test counts from a client address of its own on the
 * loopback network (127.0.0.x), so each starts with a fresh budget and a fresh window.
 */

const WINDOW_S = 60
const suffix = randomBytes(3).toString('hex')
const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

const database = await createTestDatabase(t, 'api_rate_limit')
await migrate(database.url)
const db = inspectDatabase(t, database.url)
const redis = await claimRedisDatabase(t, 'api-rate-limit')

/** What every process of this file shares; the limits are small so tests reach them fast. */
const LIMITS = {
  DATABASE_URL: database.url,
  DB_POOL_MAX: '3',
  REDIS_URL: redis.url,
  RATE_LIMIT_MAX: '20',
  RATE_LIMIT_MAX_AUTHENTICATED: '10',
  RATE_LIMIT_WINDOW_MS: String(WINDOW_S * 1000),
  RATE_LIMIT_ON_STORE_ERROR: 'open'
}

const [shared, trusting] = await Promise.all([
  startApiProcesses(t, 3, LIMITS),
  startApiProcess(t, { ...LIMITS, TRUST_PROXY: '127.0.0.1' })
]) as [ApiProcess[], ApiProcess]

/** Sends request `n` to process `n mod 3`, one at a time, in order. */
async function roundRobin (count: number, request: (n: number) => Parameters<ApiProcess['request']>[0]): Promise<ApiResponse[]> {
  const responses: ApiResponse[] = []
  for (let n = 0; n < count; n++) responses.push(await (shared[n % shared.length] as ApiProcess).request(request(n)))
  return responses
}

function rateHeaders (response: ApiResponse) {
  return {
    limit: response.headers['x-ratelimit-limit'],
    remaining: response.headers['x-ratelimit-remaining'],
    reset: response.headers['x-ratelimit-reset'],
    policy: response.headers['ratelimit-policy'],
    field: response.headers.ratelimit,
    retryAfter: response.headers['retry-after']
  }
}

const statuses = (responses: ApiResponse[]) => responses.map((response) => response.status)
const remainings = (responses: ApiResponse[]) => responses.map((response) => response.headers['x-ratelimit-remaining'])
const countdown = (from: number) => Array.from({ length: from + 1 }, (_, n) => String(from - n))

/** Sums one counter over the processes' Prometheus pages. */
async function metricSum (processes: ApiProcess[], name: string): Promise<number> {
  let sum = 0
  for (const api of processes) {
    const text = (await api.request('/metrics')).body
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `))
    sum += Number(line?.split(' ')[1] ?? Number.NaN)
  }
  return sum
}

t.test('three processes sharing Redis with RATE_LIMIT_MAX=20 accept exactly 20 of 60 concurrent anonymous requests spread round-robin; the 40 others get 429 with Retry-After', async (t) => {
  const refusedBefore = await metricSum(shared, 'muejam_rate_limit_refused_total')
  const responses = await Promise.all(Array.from({ length: 60 }, (_, n) =>
    (shared[n % 3] as ApiProcess).request({ path: '/v1/stories', localAddress: '127.0.0.2' })))
  const accepted = responses.filter((response) => response.status === 200)
  const refused = responses.filter((response) => response.status === 429)
  t.equal(accepted.length, 20, 'exactly the limit accepted')
  t.equal(refused.length, 40, 'every other request refused')
  for (const response of refused) {
    const retryAfter = Number(response.headers['retry-after'])
    t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_S, `Retry-After ${response.headers['retry-after']} is whole seconds within the window`)
    t.equal(response.json().code, 'rate_limited')
  }
  t.same(new Set(remainings(accepted)), new Set(countdown(19)), 'each accepted request saw a distinct count: one shared counter')
  t.equal(await redis.client.zcard('muejam:rl:default:ip:127.0.0.2'), 20, 'one log holds the 20 admitted; refusals are not logged')
  t.equal(await metricSum(shared, 'muejam_rate_limit_refused_total') - refusedBefore, 40, 'the refusals are counted in the processes\' metrics')
})

t.test('headers are exact on the first, the last allowed and the first refused request', async (t) => {
  const started = Date.now()
  const responses = await roundRobin(21, () => ({ path: '/v1/stories', localAddress: '127.0.0.3' }))
  const elapsedS = Math.ceil((Date.now() - started) / 1000)
  t.same(statuses(responses), [...Array(20).fill(200), 429])
  t.same(remainings(responses), [...countdown(19), '0'], 'the budget counts down across the three processes')

  const [first, lastAllowed, firstRefused] = [responses[0], responses[19], responses[20]] as [ApiResponse, ApiResponse, ApiResponse]
  t.same(rateHeaders(first), {
    limit: '20', remaining: '19', reset: '60', policy: '"default";q=20;w=60', field: '"default";r=19;t=60', retryAfter: undefined
  }, 'first request: a full window')

  const lastReset = Number(lastAllowed.headers['x-ratelimit-reset'])
  t.ok(lastReset <= WINDOW_S && lastReset >= WINDOW_S - elapsedS, `reset ${lastReset} s is what is left of the window`)
  t.same(rateHeaders(lastAllowed), {
    limit: '20', remaining: '0', reset: String(lastReset), policy: '"default";q=20;w=60', field: `"default";r=0;t=${lastReset}`, retryAfter: undefined
  }, 'last allowed request: nothing remaining, no Retry-After')

  const refusedReset = Number(firstRefused.headers['x-ratelimit-reset'])
  t.ok(refusedReset <= lastReset && refusedReset >= WINDOW_S - elapsedS, 'the refusal does not extend the window')
  t.same(rateHeaders(firstRefused), {
    limit: '20', remaining: '0', reset: String(refusedReset), policy: '"default";q=20;w=60', field: `"default";r=0;t=${refusedReset}`, retryAfter: String(refusedReset)
  }, 'first refused request: Retry-After equals the reset')
  t.equal(firstRefused.headers['content-type'], PROBLEM_JSON)
  t.match(firstRefused.json(), {
    type: 'urn:muejam:problem:rate_limited',
    title: 'Too Many Requests',
    status: 429,
    code: 'rate_limited',
    instance: '/v1/stories',
    request_id: String,
    limit: 20,
    retry_after: refusedReset
  })
  t.equal(firstRefused.json().request_id, firstRefused.headers['x-request-id'])
})

t.test('X-Forwarded-For from an untrusted peer changes nothing: rotating values from one address share its key and are refused after the limit', async (t) => {
  const responses = await roundRobin(25, (n) => ({ path: '/v1/stories', localAddress: '127.0.0.4', headers: { 'x-forwarded-for': `203.0.113.${n + 1}` } }))
  t.same(statuses(responses), [...Array(20).fill(200), ...Array(5).fill(429)])
  t.same(remainings(responses).slice(0, 20), countdown(19), 'one budget, whatever the header says')
  t.equal(await redis.client.zcard('muejam:rl:default:ip:127.0.0.4'), 20, 'all counted under the peer address')
  t.same(await redis.client.keys('muejam:rl:*203.0.113.*'), [], 'no key was made from the header')
})

t.test('with TRUST_PROXY=127.0.0.1 the client named by X-Forwarded-For is the key; other peers\' headers are still ignored', async (t) => {
  const rotating: ApiResponse[] = []
  for (let n = 1; n <= 25; n++) rotating.push(await trusting.request({ path: '/v1/stories', headers: { 'x-forwarded-for': `198.51.100.${n}` } }))
  t.same(statuses(rotating), Array(25).fill(200), 'each forwarded client has a budget of its own')
  t.same(new Set(remainings(rotating)), new Set(['19']), 'each one\'s first request')

  const one: ApiResponse[] = []
  for (let n = 0; n < 21; n++) one.push(await trusting.request({ path: '/v1/stories', headers: { 'x-forwarded-for': '192.0.2.1, 198.51.100.77' } }))
  t.same(statuses(one), [...Array(20).fill(200), 429], 'the forwarded client 198.51.100.77 is refused after its limit')
  t.equal(await redis.client.zcard('muejam:rl:default:ip:198.51.100.77'), 20, 'keyed by the nearest untrusted address, not by what the client prepended')
  t.equal(await redis.client.exists('muejam:rl:default:ip:192.0.2.1'), 0)
  const neighbour = await trusting.request({ path: '/v1/stories', headers: { 'x-forwarded-for': '198.51.100.78' } })
  t.equal(neighbour.headers['x-ratelimit-remaining'], '19', 'another forwarded client is untouched')

  const untrusted = await trusting.request({ path: '/v1/stories', localAddress: '127.0.0.9', headers: { 'x-forwarded-for': '198.51.100.77' } })
  t.equal(untrusted.status, 200, 'a peer that is not a trusted proxy cannot borrow a refused client\'s identity…')
  t.equal(untrusted.headers['x-ratelimit-remaining'], '19', '…it is counted under its own address')
  t.equal(await redis.client.zcard('muejam:rl:default:ip:127.0.0.9'), 1)
  t.equal(await redis.client.exists('muejam:rl:default:ip:127.0.0.1'), 0, 'the proxy itself was never the key')
})

t.test('two users and one anonymous client from the same address get independent budgets', async (t) => {
  const alice = authHeaders(`user_2rlAlice${suffix}`)
  const bob = authHeaders(`user_2rlBob${suffix}`)
  const address = '127.0.0.5'

  const aliceRun = await roundRobin(11, () => ({ path: '/v1/stories', headers: alice, localAddress: address }))
  t.same(statuses(aliceRun), [...Array(10).fill(200), 429], 'the first user is refused after RATE_LIMIT_MAX_AUTHENTICATED=10')
  t.same(remainings(aliceRun), [...countdown(9), '0'])
  t.equal(aliceRun[0]?.headers['ratelimit-policy'], '"default";q=10;w=60', 'a signed-in user sees the signed-in limit')
  t.match(aliceRun[10]?.json(), { code: 'rate_limited', limit: 10 })

  const bobFirst = await shared[1]?.request({ path: '/v1/stories', headers: bob, localAddress: address })
  t.equal(bobFirst?.status, 200, 'the second user is not affected')
  t.equal(bobFirst?.headers['x-ratelimit-remaining'], '9')

  const anonymous = await roundRobin(21, () => ({ path: '/v1/stories', localAddress: address }))
  t.same(remainings(anonymous), [...countdown(19), '0'], 'the anonymous client has its full budget: signed-in requests from its address did not use it')
  t.same(statuses(anonymous), [...Array(20).fill(200), 429])

  const bobAgain = await shared[2]?.request({ path: '/v1/stories', headers: bob, localAddress: address })
  t.equal(bobAgain?.status, 200, 'the second user still passes once the address is refused')
  t.equal(bobAgain?.headers['x-ratelimit-remaining'], '8')
  const aliceAgain = await shared[0]?.request({ path: '/v1/stories', headers: alice, localAddress: '127.0.0.6' })
  t.equal(aliceAgain?.status, 429, 'a user stays refused from any other address')
})

t.test('an active moderator is never refused nor counted; a revoked one is limited like anyone', async (t) => {
  const moderator = `user_2rlModerator${suffix}`
  const revoked = `user_2rlRevoked${suffix}`
  for (const [clerkUserId, active] of [[moderator, true], [revoked, false]] as const) {
    const profile = await db.insertInto('user_profiles')
      .values({ clerk_user_id: clerkUserId, handle: `reader_${randomBytes(5).toString('hex')}`, display_name: 'Moderator' })
      .returning('id').executeTakeFirstOrThrow()
    await db.insertInto('moderator_roles').values({ user_id: profile.id, role: 'moderator', is_active: active }).execute()
  }

  const moderated = await roundRobin(30, () => ({ path: '/v1/stories', headers: authHeaders(moderator), localAddress: '127.0.0.7' }))
  t.same(statuses(moderated), Array(30).fill(200), '30 requests, three times the signed-in limit, all answered')
  t.same(moderated.filter((response) => response.headers['x-ratelimit-limit'] !== undefined), [], 'no budget is claimed for an exempt request')
  t.equal(await redis.client.exists(`muejam:rl:default:user:${moderator}`), 0, 'nothing was counted')

  const limited = await roundRobin(11, () => ({ path: '/v1/stories', headers: authHeaders(revoked), localAddress: '127.0.0.7' }))
  t.same(statuses(limited), [...Array(10).fill(200), 429], 'an inactive role exempts nothing')
})

t.test('/health/live is never refused, not even for a client refused everywhere else', async (t) => {
  const address = '127.0.0.8'
  const exhaust = await roundRobin(21, () => ({ path: '/v1/stories', localAddress: address }))
  t.equal(exhaust[20]?.status, 429)

  const probes = await roundRobin(60, (n) => ({ path: n % 2 === 0 ? '/health/live' : '/health/ready', localAddress: address }))
  t.same(statuses(probes), Array(60).fill(200), 'every probe answered')
  t.same(probes.filter((response) => response.headers['x-ratelimit-limit'] !== undefined), [], 'probes carry no rate-limit headers: nothing counted')
  t.equal(await redis.client.zcard(`muejam:rl:default:ip:${address}`), 20, 'probes did not touch the log')
  t.equal((await shared[0]?.request({ path: '/v1/stories', localAddress: address }))?.status, 429, 'the client is still refused elsewhere')
})

t.test('POST routes share the stricter "writes" budget of 30 per user: the 31st write in a minute is refused naming it, and changes nothing', async (t) => {
  const writer = authHeaders(`user_2rlWriter${suffix}`)
  const stories = await roundRobin(20, (n) => ({ method: 'POST', path: '/v1/stories', headers: writer, body: { title: `Write ${n}`, publish: true }, localAddress: '127.0.0.10' }))
  t.same(statuses(stories), Array(20).fill(201))
  const storyId = stories[0]?.json<{ id: string }>().id as string
  const chapters = await roundRobin(10, (n) => ({ method: 'POST', path: `/v1/stories/${storyId}/chapters`, headers: writer, body: { title: `Part ${n}`, content: 'Text' }, localAddress: '127.0.0.10' }))
  t.same(statuses(chapters), Array(10).fill(201), 'story and chapter writes draw on the same budget')
  const writes = [...stories, ...chapters]
  t.same(remainings(writes), countdown(29))
  t.same(new Set(writes.map((response) => response.headers['ratelimit-policy'])), new Set(['"writes";q=30;w=60']))

  const before = await rowCounts(db)
  const refusedStory = await shared[0]?.request({ method: 'POST', path: '/v1/stories', headers: writer, body: { title: 'One too many' }, localAddress: '127.0.0.10' }) as ApiResponse
  const refusedChapter = await shared[1]?.request({ method: 'POST', path: `/v1/stories/${storyId}/chapters`, headers: writer, body: { title: 'One too many', content: 'Text' }, localAddress: '127.0.0.10' }) as ApiResponse
  for (const refused of [refusedStory, refusedChapter]) {
    t.equal(refused.status, 429)
    t.equal(refused.headers['ratelimit-policy'], '"writes";q=30;w=60', 'the refusal names the writes policy')
    t.equal(refused.headers.ratelimit, `"writes";r=0;t=${refused.headers['retry-after']}`)
    t.match(refused.json(), { code: 'rate_limited', limit: 30, retry_after: Number(refused.headers['retry-after']) })
  }
  t.same(await rowCounts(db), before, 'the refused writes changed nothing')

  const read = await shared[2]?.request({ path: `/v1/stories/${storyId}`, headers: writer, localAddress: '127.0.0.10' })
  t.equal(read?.status, 200, 'reads are still allowed: they draw on the default budget')
  t.equal(read?.headers['ratelimit-policy'], '"default";q=10;w=60')
  t.equal(read?.headers['x-ratelimit-remaining'], '9')
})

t.test('with RATE_LIMIT_MAX=5, twelve requests with a forged token get five 401s, then 429s with Retry-After; a valid token from that address still gets 200', async (t) => {
  const api = await startApiProcess(t, { ...LIMITS, RATE_LIMIT_MAX: '5' })
  const address = '127.0.0.30'
  const [header, payload] = signToken(`user_2rlForger${suffix}`).split('.')
  const forged = { authorization: `Bearer ${header}.${payload}.${signToken(`user_2rlSomeoneElse${suffix}`).split('.')[2]}` }
  const before = await rowCounts(db)

  const failing: ApiResponse[] = []
  for (let n = 0; n < 12; n++) failing.push(await api.request({ path: '/v1/stories', headers: forged, localAddress: address }))
  t.same(statuses(failing), [...Array(5).fill(401), ...Array(7).fill(429)])
  t.same(failing.map((response) => response.json().code), [...Array(5).fill('token_invalid_signature'), ...Array(7).fill('rate_limited')])
  t.same(remainings(failing), [...countdown(4), ...Array(7).fill('0')], 'every failure counted, the 401s included')
  for (const response of failing.slice(0, 5)) {
    t.match(response.headers['www-authenticate'], /error="invalid_token"/)
    t.equal(response.headers['ratelimit-policy'], '"default";q=5;w=60', 'the anonymous budget of the address')
  }
  for (const response of failing.slice(5)) {
    const retryAfter = Number(response.headers['retry-after'])
    t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_S, `Retry-After ${response.headers['retry-after']} is whole seconds within the window`)
    t.equal(response.headers['x-ratelimit-reset'], String(retryAfter))
    t.equal(response.headers['content-type'], PROBLEM_JSON)
    t.match(response.json(), { status: 429, code: 'rate_limited', limit: 5, retry_after: retryAfter })
  }
  t.equal(await redis.client.zcard(`muejam:rl:default:ip:${address}`), 5, 'the five failures admitted are logged; the refusals are not')

  const valid = await api.request({ path: '/v1/stories', headers: authHeaders(`user_2rlHonest${suffix}`), localAddress: address })
  t.equal(valid.status, 200, 'a valid token is never refused for the failures of others at its address')
  t.equal(valid.headers['ratelimit-policy'], '"default";q=10;w=60', 'it is counted by its user')
  t.equal(valid.headers['x-ratelimit-remaining'], '9')
  t.same(await rowCounts(db), before, 'nothing written')
})

t.test('unknown routes and CORS preflights draw on the address\'s anonymous budget too', async (t) => {
  const origin = 'https://app.muejam.test'
  const api = await startApiProcess(t, { ...LIMITS, RATE_LIMIT_MAX: '5', CORS_ORIGINS: origin })
  const address = '127.0.0.31'
  const unknown = () => api.request({ path: '/v1/nope', localAddress: address })
  const preflight = () => api.request({ method: 'OPTIONS', path: '/v1/stories', headers: { origin, 'access-control-request-method': 'POST' }, localAddress: address })

  const counted = [await unknown(), await unknown(), await unknown(), await preflight(), await preflight()]
  t.same(statuses(counted), [404, 404, 404, 204, 204])
  t.same(remainings(counted), countdown(4), 'three 404s and two preflights spent the budget of five')
  t.same(counted.slice(0, 3).map((response) => response.json().code), Array(3).fill('route_not_found'))
  t.equal(counted[3]?.headers['access-control-allow-origin'], origin, 'the preflights were answered as usual')

  const refused = [await unknown(), await preflight(), await api.request({ path: '/v1/stories', localAddress: address })]
  t.same(statuses(refused), [429, 429, 429], 'then unknown routes, preflights and anonymous reads are refused')
  for (const response of refused) {
    t.equal(response.headers['retry-after'], response.headers['x-ratelimit-reset'])
    t.equal(response.json().code, 'rate_limited')
  }
  t.equal(await redis.client.zcard(`muejam:rl:default:ip:${address}`), 5, 'the five admitted are logged; the refusals are not')

  const valid = await api.request({ path: '/v1/stories', headers: authHeaders(`user_2rlPreflighter${suffix}`), localAddress: address })
  t.equal(valid.status, 200, 'a signed-in request from the address still passes')
  t.equal(valid.headers['ratelimit-policy'], '"default";q=10;w=60')
})

t.test('Redis killed mid-run: every request answers within 200 ms, "open" passes and "closed" answers 503; /health/ready is degraded; Redis back on its port resumes counting without a restart', async (t) => {
  const own = await OwnRedis.start(t)
  const env = { ...LIMITS, REDIS_URL: own.url }
  const [open, closed] = await Promise.all([
    startApiProcess(t, { ...env, RATE_LIMIT_ON_STORE_ERROR: 'open' }),
    startApiProcess(t, { ...env, RATE_LIMIT_ON_STORE_ERROR: 'closed' })
  ]) as [ApiProcess, ApiProcess]
  const pids = [open.pid, closed.pid]
  const client = { path: '/v1/stories', localAddress: '127.0.0.11' }

  t.equal((await open.request(client)).headers['x-ratelimit-remaining'], '19', 'counted before the outage')
  t.equal((await closed.request(client)).headers['x-ratelimit-remaining'], '18', 'in the Redis both share')

  const outageStarted = Date.now()
  await own.kill()
  const during: Array<{ mode: 'open' | 'closed', kind: 'limited' | 'probe', response: ApiResponse }> = []
  for (let n = 0; n < 20; n++) {
    during.push({ mode: 'open', kind: 'limited', response: await open.request(client) })
    during.push({ mode: 'closed', kind: 'limited', response: await closed.request(client) })
  }
  for (const [mode, api] of [['open', open], ['closed', closed]] as const) {
    during.push({ mode, kind: 'limited', response: await api.request({ path: '/v1/stories?limit=1', localAddress: '127.0.0.12' }) })
    during.push({ mode, kind: 'probe', response: await api.request({ path: '/health/live', localAddress: '127.0.0.12' }) })
  }
  const slowest = Math.max(...during.map(({ response }) => response.ms))
  t.ok(slowest < 200, `the slowest of ${during.length} requests took ${slowest.toFixed(1)} ms (< 200 ms)`)

  const answers = (mode: 'open' | 'closed', kind: 'limited' | 'probe') =>
    during.filter((entry) => entry.mode === mode && entry.kind === kind).map(({ response }) => response)
  t.same(new Set(statuses(answers('open', 'limited'))), new Set([200]), 'open: every request passes')
  t.same(answers('open', 'limited').filter((response) => response.headers['x-ratelimit-limit'] !== undefined), [], 'open: no budget is claimed while nothing is counted')
  t.same(new Set(statuses(answers('closed', 'limited'))), new Set([503]), 'closed: every limited request is refused')
  for (const response of answers('closed', 'limited')) {
    t.equal(response.headers['retry-after'], '5')
    t.equal(response.headers['content-type'], PROBLEM_JSON)
    t.match(response.json(), { status: 503, code: 'rate_limit_unavailable', retry_after: 5 })
  }
  t.same(statuses([...answers('open', 'probe'), ...answers('closed', 'probe')]), [200, 200], '/health/live answers 200 in both modes')

  for (const api of [open, closed]) {
    let report: ApiResponse | undefined
    const deadline = Date.now() + 5000
    // Reports are cached for up to a second.
    do {
      report = await api.request('/health/ready')
    } while (report.json().status !== 'degraded' && Date.now() < deadline)
    t.equal(report.status, 200, 'readiness holds: the store is not critical')
    t.match(report.json(), { status: 'degraded', checks: { cache: { status: 'unhealthy', breaker: 'open' }, database: { status: 'healthy' } } })
  }
  t.ok(await metricSum([open], 'muejam_rate_limit_store_errors_total') >= 21, 'store errors are counted in metrics')

  await own.restart()
  const resumed = Date.now()
  const counted = async (api: ApiProcess) => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const response = await api.request(client)
      if (response.headers['x-ratelimit-remaining'] !== undefined) return response
      if (Date.now() > deadline) throw new Error(`not counting again 10 s after Redis came back: ${response.status} ${response.body}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const openResumed = await counted(open)
  const closedResumed = await counted(closed)
  t.equal(openResumed.status, 200)
  t.equal(closedResumed.status, 200, 'closed: requests pass again')
  t.comment(`counting resumed ${Date.now() - resumed} ms after Redis came back`)
  const base = Number(closedResumed.headers['x-ratelimit-remaining'])
  t.ok(base <= 18, 'the restarted, empty Redis counts from zero again')
  t.equal((await open.request(client)).headers['x-ratelimit-remaining'], String(base - 1), 'one shared count again…')
  t.equal((await closed.request(client)).headers['x-ratelimit-remaining'], String(base - 2), '…across both processes')
  t.same([open.pid, closed.pid], pids)
  t.notOk(open.exited || closed.exited, 'no restart: the same processes are serving')

  let ready: ApiResponse | undefined
  const deadline = Date.now() + 5000
  do {
    ready = await open.request('/health/ready')
  } while (ready.json().status !== 'healthy' && Date.now() < deadline)
  t.match(ready.json(), { status: 'healthy', checks: { cache: { status: 'healthy' } } }, 'readiness is healthy again')

  const outageS = Math.ceil((resumed - outageStarted) / 1000)
  for (const [api, mode] of [[open, 'open'], [closed, 'closed']] as const) {
    const messages = api.logs().map((line) => String(line.msg))
    const warnings = messages.filter((msg) => msg === `rate-limit store unavailable; requests ${mode === 'open' ? 'pass unlimited' : 'are refused with 503'} (onStoreError: ${mode})`)
    t.ok(warnings.length >= 1 && warnings.length <= 1 + Math.floor(outageS / 10), `${mode}: the outage was logged ${warnings.length} time(s) in ${outageS} s, at most once per 10 s`)
    t.ok(messages.includes('rate-limit store answering again; counting resumed'), `${mode}: the recovery was logged`)
  }
})
