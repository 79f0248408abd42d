import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestDatabase } from '@muejam/testing/database'
import { startPgbouncer } from '@muejam/testing/pgbouncer'
import t from 'tap'
import { type ApiProcess, type ApiResponse, migrate, startApiProcesses } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { inspectDatabase } from './helpers/build.js'
import { claimRedisDatabase } from './helpers/redis.js'
import type { StoryBody } from './helpers/stories.js'
import { percentile } from '@muejam/testing/percentile'

/*
 * Scale-out as deployed: three `dist/server.js` processes on ports of their own, with
 * nothing in front of them but this test, sharing PostgreSQL through pgbouncer in
 * transaction pooling mode and one Redis.
 */

const suffix = randomBytes(3).toString('hex')
const DRAIN_MS = 500

const database = await createTestDatabase(t, 'api_scale_out')
// Migrations go to PostgreSQL directly, as a deployment's migrate job does.
await migrate(database.url)
const pgbouncer = await startPgbouncer(t, { databaseUrl: database.url, poolSize: 10 })
const redis = await claimRedisDatabase(t, 'api-scale-out')
const db = inspectDatabase(t, database.url)

const processes = await startApiProcesses(t, 3, {
  DATABASE_URL: pgbouncer.url(),
  DB_POOL_MAX: '5',
  REDIS_URL: redis.url,
  // Shared, as in production: a cursor signed by one process is checked by another.
  SECRET_KEY: randomBytes(48).toString('base64url'),
  RATE_LIMIT_MAX: '30',
  RATE_LIMIT_MAX_AUTHENTICATED: '100000',
  SHUTDOWN_DRAIN_MS: String(DRAIN_MS)
})
const [a, b, c] = processes as [ApiProcess, ApiProcess, ApiProcess]

t.test('a story written through one process is read through the others, over pgbouncer in transaction mode', async (t) => {
  const author = authHeaders(`user_2soAuthor${suffix}`)
  const created = await a.request({
    method: 'POST',
    path: '/v1/stories',
    headers: author,
    body: { title: 'Written on A', publish: true, chapters: [{ title: 'One', content: 'First.' }, { title: 'Two', content: 'Second.' }] }
  })
  t.equal(created.status, 201)
  const story = created.json<StoryBody>()

  for (const [name, api] of [['B', b], ['C', c]] as const) {
    const read = await api.request(`/v1/stories/${story.id}`)
    t.equal(read.status, 200, `read through ${name}`)
    const { chapters: _chapters, ...withoutChapters } = story
    t.same(read.json(), withoutChapters, `${name} returns what A wrote`)
  }
  const appended = await b.request({ method: 'POST', path: `/v1/stories/${story.id}/chapters`, headers: author, body: { title: 'Three', content: 'Third.' } })
  t.equal(appended.status, 201, 'a chapter appended through B')
  t.equal(appended.json().position, 3, 'after the two written through A')
  const chapters = await c.request(`/v1/stories/${story.id}/chapters`)
  t.same(chapters.json<{ items: Array<{ title: string }> }>().items.map((chapter) => chapter.title), ['One', 'Two', 'Three'], 'C lists all three in order')

  const draft = (await c.request({ method: 'POST', path: '/v1/stories', headers: author, body: { title: 'Draft on C' } })).json<StoryBody>()
  t.equal((await a.request({ path: `/v1/stories/${draft.id}`, headers: author })).status, 200, 'the author reads the draft through A')
  const hidden = await b.request(`/v1/stories/${draft.id}`)
  t.equal(hidden.status, 404, 'and it stays hidden from others through B')
  t.equal(hidden.json().code, 'story_not_found')

  for (let n = 0; n < 3; n++) t.equal((await processes[n % 3]?.request({ method: 'POST', path: '/v1/stories', headers: author, body: { title: `Page ${n}`, publish: true } }))?.status, 201)
  const first = (await a.request('/v1/stories?limit=2')).json<{ items: StoryBody[], next_cursor: string }>()
  const second = (await b.request(`/v1/stories?limit=2&cursor=${first.next_cursor}`)).json<{ items: StoryBody[], next_cursor: string | null }>()
  t.same([...first.items, ...second.items].map((item) => item.title), ['Page 2', 'Page 1', 'Page 0', 'Written on A'], 'a cursor from A pages on through B')
  t.equal(second.next_cursor, null)

  const rows = await db.selectFrom('stories').select(['title']).orderBy('created_at').execute()
  t.same(rows.map((row) => row.title), ['Written on A', 'Draft on C', 'Page 0', 'Page 1', 'Page 2'], 'one database holds every write')
})

t.test('the rate limit is global: 45 concurrent anonymous requests over the three processes, limit 30, accept exactly 30', async (t) => {
  const responses = await Promise.all(Array.from({ length: 45 }, (_, n) =>
    (processes[n % 3] as ApiProcess).request({ path: '/v1/stories', localAddress: '127.0.0.2' })))
  const count = (status: number) => responses.filter((response) => response.status === status).length
  t.equal(count(200), 30)
  t.equal(count(429), 15)
  for (const index of processes.keys()) {
    const refused = responses.filter((response, n) => n % 3 === index && response.status === 429)
    t.ok(refused.every((response) => response.headers['retry-after'] !== undefined), `process ${index} sent Retry-After with each refusal`)
  }
  const remaining = responses.filter((response) => response.status === 200).map((response) => Number(response.headers['x-ratelimit-remaining']))
  t.same(remaining.sort((x, y) => x - y), Array.from({ length: 30 }, (_, n) => n), 'the accepted requests drew on one counter: 29 down to 0 remaining, each once')
  t.equal(await redis.client.zcard('muejam:rl:default:ip:127.0.0.2'), 30, 'one log in the shared Redis, of the 30 admitted')
})

t.test('SIGTERM to one process during steady load loses no request sent to the two others, and the stopped one drains and exits 0', async (t) => {
  const author = `user_2soLoadAuthor${suffix}`
  const story = (await a.request({ method: 'POST', path: '/v1/stories', headers: authHeaders(author), body: { title: 'Read under load', publish: true } })).json<StoryBody>()
  const reader = authHeaders(`user_2soReader${suffix}`)
  const writers = [0, 1, 2].map((n) => authHeaders(`user_2soWriter${n}${suffix}`))

  const RATE = 80
  const DURATION_MS = 3000
  const total = (RATE * DURATION_MS) / 1000
  const targets = [b, c]
  const sent: Array<Promise<ApiResponse | Error>> = []
  const kinds: string[] = []
  let stopped: Promise<{ code: number | null, signal: NodeJS.Signals | null }> | undefined
  let drainingReady: Promise<ApiResponse> | undefined
  let signalledAt = 0
  let exitedAt = Number.NaN
  const started = performance.now()
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    if (n === RATE && stopped === undefined) {
      signalledAt = performance.now()
      stopped = a.terminate('SIGTERM').then((exit) => {
        exitedAt = performance.now()
        return exit
      })
      drainingReady = sleep(50).then(() => a.request('/health/ready'))
    }
    const api = targets[n % 2] as ApiProcess
    let request: Parameters<ApiProcess['request']>[0]
    if (n % 8 === 7) {
      kinds.push('write')
      request = { method: 'POST', path: '/v1/stories', headers: writers[n % 3] as Record<string, string>, body: { title: `Load ${n}`, publish: true } }
    } else if (n % 8 === 3) {
      kinds.push('list')
      request = { path: '/v1/stories?limit=5', headers: reader }
    } else {
      kinds.push('read')
      request = { path: `/v1/stories/${story.id}`, headers: reader }
    }
    sent.push(api.request(request).catch((error: unknown) => error as Error))
  }
  const sendingMs = performance.now() - started
  const results = await Promise.all(sent)

  const failures = results.flatMap((result, n) => result instanceof Error
    ? [`#${n} ${kinds[n]}: ${result.message}`]
    : result.status >= 200 && result.status < 300 ? [] : [`#${n} ${kinds[n]}: ${result.status} ${result.body}`])
  t.same(failures, [], `all ${results.length} requests sent to B and C were answered 2xx`)
  const writes = results.filter((_, n) => kinds[n] === 'write') as ApiResponse[]
  t.same(new Set(writes.map((response) => response.status)), new Set([201]))
  const stored = await db.selectFrom('stories').select((eb) => eb.fn.countAll<string>().as('n')).where('title', 'like', 'Load %').executeTakeFirstOrThrow()
  t.equal(Number(stored.n), writes.length, `all ${writes.length} writes made under load are stored`)

  const exit = await Promise.race([stopped, sleep(15_000, undefined, { ref: false })])
  t.same(exit, { code: 0, signal: null }, 'the stopped process exited 0')
  const exitMs = exitedAt - signalledAt
  const ready = await drainingReady
  t.equal(ready?.status, 503, 'while draining, its readiness failed so a balancer would stop sending')
  t.match(ready?.json(), { status: 'unhealthy', reason: 'draining' })
  t.ok(a.logs().some((line) => line.msg === 'closed'), 'it closed its pools and Redis before exiting')
  t.ok(exitMs >= DRAIN_MS, `it kept serving for the drain (${Math.round(exitMs)} ms ≥ ${DRAIN_MS} ms)`)
  t.ok(!b.exited && !c.exited, 'the others keep running')

  const latencies = (results as ApiResponse[]).map((response) => response.ms).sort((x, y) => x - y)
  t.comment(`${results.length} requests in ${Math.round(sendingMs)} ms (${(results.length / (sendingMs / 1000)).toFixed(0)} req/s) over B and C; ` +
    `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(1)} ms; ` +
    `A exited ${Math.round(exitMs)} ms after SIGTERM (drain ${DRAIN_MS} ms)`)
})
