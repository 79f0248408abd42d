import { Agent } from 'node:http'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAdmin } from '@muejam/testing/database'
import t, { type Test } from 'tap'
import { type ApiProcess, type ApiResponse, startApiProcess, waitFor } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { databaseEnv } from './helpers/build.js'
import { type PgActivity, watchActivity } from './helpers/pg-activity.js'
import { seedStory, storedStory } from './helpers/seed.js'

/*
 * Graceful shutdown of the real server process (`node dist/server.js`) under load: signals,
 * the readiness drain, in-flight requests, exit codes and the database connections left
 * behind, all seen from outside the process as an orchestrator and a load balancer see them.
 */

/** Resolves with 'refused' when a new TCP connection to `port` is refused, else 'accepted'. */
function tryConnect (port: number): Promise<'accepted' | 'refused'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve('accepted')
    })
    socket.once('error', () => resolve('refused'))
  })
}

/** Holds a story's row in a transaction of the test's own, so a write to it waits in PostgreSQL. */
async function holdRowLock (t: Test, databaseUrl: string, storyId: string) {
  const locker = await connectAdmin(databaseUrl)
  t.teardown(() => locker.end().catch(() => {}))
  await locker.query('begin')
  await locker.query('select id from stories where id = $1 for update', [storyId])
  return { release: () => locker.query('rollback') }
}

/** Sends a PATCH that waits on the row lock, resolving once PostgreSQL shows it waiting. */
async function blockedPatch (t: Test, server: ApiProcess, activity: PgActivity, author: string, storyId: string, title: string) {
  const outcome = server.request({ method: 'PATCH', path: `/v1/stories/${storyId}`, headers: authHeaders(author), body: { title }, timeoutMs: 30_000 })
    .catch((error: Error) => error)
  const waiting = await waitFor(async () => (await activity.apiBackends()).some((backend) => backend.wait_event_type === 'Lock'), { timeoutMs: 5000, everyMs: 20 })
  t.not(waiting, null, 'the PATCH is waiting on the row lock inside PostgreSQL')
  // Wrapped: an async function's returned promise would otherwise be awaited with it.
  return { outcome }
}

async function assertNoBackendsLeft (t: Test, activity: PgActivity) {
  const none = await waitFor(async () => (await activity.apiBackends()).length === 0, { timeoutMs: 2000, everyMs: 20 })
  t.not(none, null, 'no connection of the API is left in pg_stat_activity: its pools were closed')
}

interface LoadRequest {
  sentAt: number
  result: ApiResponse | Error | null
}

t.test('SIGTERM under 100 requests a second: readiness 503 during the drain, no request fails, in-flight work finishes, exit 0 with no connection left', async (t) => {
  const env = await databaseEnv(t, 'shutdown_drain')
  // Time bounds below are fractions of these budgets: a loaded machine gets room from long budgets.
  const DRAIN_MS = 3000
  const TIMEOUT_MS = 15_000
  const server = await startApiProcess(t, {
    ...env,
    DB_POOL_MAX: '10',
    SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
    SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
    RATE_LIMIT_MAX_AUTHENTICATED: '100000'
  })
  const activity = await watchActivity(t, env.DATABASE_URL)
  const author = `user_shutdown_${process.pid}`
  const story = await seedStory(activity.client, author)
  const reader = authHeaders(`user_shutdown_reader_${process.pid}`)

  /*
   * The load balancer. Its health checker polls /health/ready every 50 ms; once it sees
   * 503 (or cannot connect) it takes the instance out of rotation and sends it nothing
   * more, as a real balancer does. The drain (3 s) is far longer than that reaction.
   *
   * Load: one GET /v1/stories (a database read) every 10 ms over a keep-alive agent, while
   * the instance is in rotation. Every request sent is accounted for. A failure is any
   * request whose answer is not 200 (a 503 of a closing server, a 504, a 5xx), or that
   * ends in a socket error instead of a response (reset, refused, hang-up, timeout).
   */
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => {
    agent.destroy()
    probeAgent.destroy()
  })
  const balancer = { inRotation: true }
  let outOfRotationAt = 0
  const probing = (async () => {
    while (balancer.inRotation) {
      const probe = await server.request({ path: '/health/ready', agent: probeAgent, timeoutMs: 2000 }).catch((error: Error) => error)
      if (probe instanceof Error || probe.status !== 200) {
        balancer.inRotation = false
        outOfRotationAt = performance.now()
        break
      }
      await sleep(50)
    }
  })()
  const load: LoadRequest[] = []
  const loading = (async () => {
    const start = performance.now()
    for (let i = 0; balancer.inRotation; i++) {
      const wait = start + i * 10 - performance.now()
      if (wait > 0) await sleep(wait)
      if (!balancer.inRotation) break
      const entry: LoadRequest = { sentAt: performance.now(), result: null }
      load.push(entry)
      server.request({ path: '/v1/stories?limit=5', headers: reader, agent, timeoutMs: 15_000 })
        .then((result) => { entry.result = result }, (error: Error) => { entry.result = error })
    }
  })()

  // Steady load first.
  await sleep(1500)
  const steady = await waitFor(() => load.filter((entry) => entry.result !== null).length >= 100, { timeoutMs: 30_000 })
  t.not(steady, null, 'the load runs: 100 requests answered')
  const backendsBefore = await activity.apiBackends()
  t.ok(backendsBefore.length >= 1, `the API holds database connections (${backendsBefore.length})`)

  // A slow request, in flight across the drain and the close: it waits on a row lock.
  const lock = await holdRowLock(t, env.DATABASE_URL, story.id)
  const inFlight = await blockedPatch(t, server, activity, author, story.id, 'Finished during shutdown')

  const signalledAt = server.signal('SIGTERM')
  const exit = server.exit()

  // During the drain, a client on a fresh connection is still served.
  t.not(await waitFor(() => !balancer.inRotation, { timeoutMs: DRAIN_MS }), null, 'the balancer has taken the instance out of rotation')
  t.comment(`readiness turned 503 within ${Math.round(outOfRotationAt - signalledAt)} ms of SIGTERM`)
  t.ok(outOfRotationAt - signalledAt < DRAIN_MS / 2, 'readiness fails at once, in the first half of the drain')
  const ready = await server.request('/health/ready')
  t.equal(ready.status, 503, 'readiness answers 503 during the drain')
  t.equal(ready.json().reason, 'draining')
  t.equal((await server.request('/health/live')).status, 200, 'liveness stays 200 during the drain')
  const lateClient = await server.request({ path: '/v1/stories?limit=5', headers: reader })
  t.equal(lateClient.status, 200, 'a request sent during the drain, on a new connection, succeeds')

  // After the drain, new connections are refused while the in-flight PATCH keeps the process up.
  const refusedAt = await waitFor(async () => await tryConnect(server.port) === 'refused', { timeoutMs: 2 * DRAIN_MS, everyMs: 25 })
  t.not(refusedAt, null, 'new connections are refused after the drain')
  const drainMs = (refusedAt as number) - signalledAt
  t.comment(`new connections refused ${Math.round(drainMs)} ms after SIGTERM`)
  t.ok(drainMs >= DRAIN_MS, 'not before SHUTDOWN_DRAIN_MS has passed')
  t.notOk(server.exited, 'the process waits for its in-flight request')

  await sleep(200)
  await lock.release()
  const patched = await inFlight.outcome
  t.ok(!(patched instanceof Error), `the in-flight request was answered${patched instanceof Error ? `, not ${patched.message}` : ''}`)
  if (!(patched instanceof Error)) t.equal(patched.status, 200, 'the in-flight PATCH finished with 200')
  t.equal((await storedStory(activity.client, story.id)).title, 'Finished during shutdown', 'and its write is stored')

  const { code, at } = await exit
  t.equal(code, 0, 'the process exits 0', { output: server.output() })
  t.comment(`exited ${Math.round(at - signalledAt)} ms after SIGTERM`)
  t.ok(at - signalledAt < TIMEOUT_MS, 'within SHUTDOWN_TIMEOUT_MS')
  await assertNoBackendsLeft(t, activity)

  await Promise.all([probing, loading])
  const settled = await waitFor(() => load.every((entry) => entry.result !== null), { timeoutMs: 5000 })
  t.not(settled, null, 'every request sent got an outcome')
  const afterSignal = load.filter((entry) => entry.sentAt >= signalledAt)
  const failures = load.filter((entry) => entry.result instanceof Error || entry.result?.status !== 200)
  const seconds = (load[load.length - 1]?.sentAt ?? 0) - (load[0]?.sentAt ?? 0)
  t.comment(`${load.length} requests at ${Math.round(load.length / (seconds / 1000))}/s, ${afterSignal.length} of them sent after SIGTERM, before the balancer reacted`)
  t.same(failures.map((entry) => entry.result instanceof Error ? entry.result.message : entry.result?.status), [], 'no request failed or was reset')
  t.ok(load.length >= 150, 'the load kept running until the balancer reacted')

  const lines = server.logs()
  t.ok(lines.some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'), 'the shutdown is logged with its signal')
  t.ok(lines.some((line) => line.msg === 'closed'), 'and its end')
})

t.test('a second SIGTERM during the drain exits at once with 1', async (t) => {
  const env = await databaseEnv(t, 'shutdown_second')
  const DRAIN_MS = 10_000
  const server = await startApiProcess(t, { ...env, SHUTDOWN_DRAIN_MS: String(DRAIN_MS), SHUTDOWN_TIMEOUT_MS: '30000' })
  server.signal('SIGTERM')
  const draining = await waitFor(async () => (await server.request('/health/ready')).status === 503, { timeoutMs: DRAIN_MS / 2, everyMs: 25 })
  t.not(draining, null, 'the first SIGTERM starts the drain')
  const secondAt = server.signal('SIGTERM')
  const { code, at } = await server.exit()
  t.comment(`exited ${Math.round(at - secondAt)} ms after the second SIGTERM`)
  t.equal(code, 1, 'exits non-zero: the shutdown was not graceful', { output: server.output() })
  t.ok(at - secondAt < DRAIN_MS / 4, 'at once, not after the drain')
  t.match(server.output(), /second SIGTERM, exiting/)
})

t.test('a shutdown that cannot finish within SHUTDOWN_TIMEOUT_MS exits 1 by then, its held request cut and its query cancelled', async (t) => {
  const env = await databaseEnv(t, 'shutdown_timeout')
  const TIMEOUT_MS = 8000
  // The last quarter of the timeout, 1 s at most, is kept to cancel the cut request's query.
  const CANCEL_GRACE_MS = Math.min(1000, TIMEOUT_MS / 4)
  const server = await startApiProcess(t, { ...env, SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS) })
  const activity = await watchActivity(t, env.DATABASE_URL)
  const author = `user_shutdown_timeout_${process.pid}`
  const story = await seedStory(activity.client, author)

  // A request held open past the timeout: its UPDATE waits on a lock the test holds throughout.
  const lock = await holdRowLock(t, env.DATABASE_URL, story.id)
  const held = await blockedPatch(t, server, activity, author, story.id, 'Never written')
  const signalledAt = server.signal('SIGTERM')
  const { code, at } = await server.exit()
  const exitMs = at - signalledAt
  t.comment(`exited ${Math.round(exitMs)} ms after SIGTERM`)
  t.equal(code, 1, 'exits 1', { output: server.output() })
  // The exit comes once the cut request's query is cancelled, or at SHUTDOWN_TIMEOUT_MS at the latest.
  t.ok(exitMs >= TIMEOUT_MS - CANCEL_GRACE_MS, `not before the held request had SHUTDOWN_TIMEOUT_MS less the cancel grace (${Math.round(exitMs)} ms)`)
  t.ok(exitMs < TIMEOUT_MS * 1.5, 'by SHUTDOWN_TIMEOUT_MS (with half of it again for a loaded machine)')
  t.match(server.output(), /shutdown timed out: cutting in-flight requests/)
  t.match(server.output(), new RegExp(`did not finish within SHUTDOWN_TIMEOUT_MS \\(${TIMEOUT_MS} ms\\)|killed by timeout \\(${TIMEOUT_MS}ms\\)`))
  t.ok(await held.outcome instanceof Error, 'the held request got no answer: its connection was cut')

  // Its UPDATE was cancelled before the exit: releasing the lock now writes nothing.
  t.same((await activity.apiBackends()).filter((backend) => backend.state === 'active'), [], 'no query of the API is left running')
  await assertNoBackendsLeft(t, activity)
  await lock.release()
  await sleep(200)
  t.equal((await storedStory(activity.client, story.id)).title, story.title, 'nothing of the cut request was written')
})

t.test('SIGINT shuts down like SIGTERM: readiness 503, exit 0, no connection left', async (t) => {
  const env = await databaseEnv(t, 'shutdown_sigint')
  const DRAIN_MS = 3000
  const server = await startApiProcess(t, { ...env, SHUTDOWN_DRAIN_MS: String(DRAIN_MS) })
  const activity = await watchActivity(t, env.DATABASE_URL)
  t.equal((await server.request('/v1/stories')).status, 200)
  t.ok((await activity.apiBackends()).length >= 1, 'the API holds a database connection')
  server.signal('SIGINT')
  const draining = await waitFor(async () => (await server.request('/health/ready').catch(() => null))?.status === 503, { timeoutMs: DRAIN_MS, everyMs: 25 })
  t.not(draining, null, 'readiness turns 503')
  t.equal((await server.exit()).code, 0)
  await assertNoBackendsLeft(t, activity)
})
