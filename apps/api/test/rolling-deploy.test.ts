import { randomBytes, randomUUID } from 'node:crypto'
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { createTestDatabase } from '@muejam/testing/database'
import t from 'tap'
import { type ApiProcess, type ApiResponse, migrate, send, startApiProcess, waitFor } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { inspectDatabase } from './helpers/build.js'
import { startLoadBalancer, type AccessLogEntry, type Nginx } from './helpers/nginx.js'
import { claimRedisDatabase } from './helpers/redis.js'
import type { StoryBody } from './helpers/stories.js'
import { percentile } from '@muejam/testing/percentile'

/*
 * A rolling deploy and its rollback behind the repository's own load balancer: two
 * `dist/server.js` processes behind Debian's nginx running docker/lb/nginx.conf, under steady
 * load from keep-alive clients reading and writing. Each process in turn gets SIGTERM,
 * drains, exits, and a process of the other release takes its port; the next one is replaced
 * once nginx sends the new one traffic. No request may fail, and no write may be lost or
 * made twice.
 */

const API_ROOT = fileURLToPath(new URL('..', import.meta.url))
// Longer than docker/lb/nginx.conf's upstream keepalive_timeout, as docs/operations.md requires.
const DRAIN_MS = 2500
/** The load stops by itself after this long, whatever happens to the deploy. */
const LOAD_LIMIT_MS = 240_000
const CLIENTS = 4
/** A shared CI machine can take long to start a process; the figure that matters is in the comments. */
const START_TIMEOUT_MS = 90_000

const suffix = randomBytes(3).toString('hex')

interface Release {
  version: string
  serverJs: string
  root: string
}

/** The built API as it is: the release running before the deploy. */
async function currentRelease (): Promise<Release> {
  const { version } = JSON.parse(await readFile(join(API_ROOT, 'package.json'), 'utf8')) as { version: string }
  return { version, serverJs: join(API_ROOT, 'dist', 'server.js'), root: API_ROOT }
}

/** A copy of the built API under another version, as a new build would be, using the same installed dependencies. */
async function newRelease (version: string): Promise<Release> {
  const root = await mkdtemp(join(tmpdir(), 'muejam-release-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const manifest = JSON.parse(await readFile(join(API_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
  await writeFile(join(root, 'package.json'), JSON.stringify({ ...manifest, version }, null, 2))
  await cp(join(API_ROOT, 'dist'), join(root, 'dist'), { recursive: true })
  await symlink(join(API_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir')
  return { version, serverJs: join(root, 'dist', 'server.js'), root }
}

type Kind = 'read' | 'list' | 'write' | 'missing'

interface Outcome {
  kind: Kind
  /** A write's title, to find it in the database. */
  title?: string
  response?: ApiResponse
  error?: string
  /** When it was sent, `performance.now()`. */
  at: number
}

const MIX: readonly Kind[] = ['read', 'write', 'list', 'read', 'missing', 'write', 'read', 'list']

/** Expected status and, for a client error, problem code, of each kind of request. */
const EXPECTED: Record<Kind, { status: number, code?: string }> = {
  read: { status: 200 },
  list: { status: 200 },
  write: { status: 201 },
  missing: { status: 404, code: 'story_not_found' }
}

function failure (outcome: Outcome): string | null {
  if (outcome.response === undefined) return `${outcome.kind}: ${outcome.error ?? 'no response'}`
  const { status, body } = outcome.response
  const expected = EXPECTED[outcome.kind]
  if (status !== expected.status) return `${outcome.kind}: ${status} ${body.slice(0, 200)}`
  if (expected.code !== undefined && outcome.response.json().code !== expected.code) return `${outcome.kind}: ${status} ${body.slice(0, 200)}`
  return null
}

/**
 * `CLIENTS` clients, each on one keep-alive connection to nginx, sending one request after
 * another until `stop()` or LOAD_LIMIT_MS.
 */
function startLoad (port: number, storyId: string) {
  const outcomes: Outcome[] = []
  const state = { stopping: false }
  const stopAt = performance.now() + LOAD_LIMIT_MS
  const reader = authHeaders(`user_2rdReader${suffix}`)
  const client = async (n: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const writer = authHeaders(`user_2rdWriter${n}${suffix}`)
    for (let i = 0; !state.stopping && performance.now() < stopAt; i++) {
      const kind = MIX[(i + n) % MIX.length] as Kind
      const title = kind === 'write' ? `Rolled ${suffix} ${n}-${i}` : undefined
      const at = performance.now()
      const request = kind === 'write'
        ? { method: 'POST', path: '/v1/stories', headers: writer, body: { title, publish: true } }
        : kind === 'list'
          ? { path: '/v1/stories?limit=5', headers: reader }
          : { path: `/v1/stories/${kind === 'read' ? storyId : randomUUID()}`, headers: reader }
      try {
        // A loaded test machine can hold a request for seconds; only an answer that never comes is a failure.
        outcomes.push({ kind, title, at, response: await send(port, { ...request, agent, timeoutMs: 30_000 }) })
      } catch (error) {
        outcomes.push({ kind, title, at, error: (error as Error).message })
      }
    }
    agent.destroy()
  }
  const started = performance.now()
  const running = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)))
  return {
    outcomes,
    async stop (): Promise<number> {
      state.stopping = true
      await running
      return performance.now() - started
    }
  }
}

const database = await createTestDatabase(t, 'api_rolling_deploy')
await migrate(database.url)
const redis = await claimRedisDatabase(t, 'api-rolling-deploy')
const db = inspectDatabase(t, database.url)

const env = {
  DATABASE_URL: database.url,
  DB_POOL_MAX: '5',
  REDIS_URL: redis.url,
  SECRET_KEY: randomBytes(48).toString('base64url'),
  // nginx is the client the API sees; it believes nginx's X-Forwarded-For.
  TRUST_PROXY: '127.0.0.1',
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_MAX_AUTHENTICATED: '1000000',
  RATE_LIMIT_WRITE_MAX: '1000000',
  // A busy test machine delays event loops; shedding that load is not what this test is about.
  HEALTH_MAX_EVENT_LOOP_DELAY_MS: '0',
  SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
  SHUTDOWN_TIMEOUT_MS: '10000'
}

const before = await currentRelease()
const after = await newRelease(`${before.version}-next.${suffix}`)

/** An upstream of nginx: a port, and the process listening on it now. */
interface Slot {
  port: number
  process: ApiProcess
  release: Release
}

const first = await Promise.all([0, 1].map(() => startApiProcess(t, env, { serverJs: before.serverJs, cwd: before.root, startTimeoutMs: START_TIMEOUT_MS })))
const slots: Slot[] = first.map((process) => ({ port: process.port, process, release: before }))
const nginx: Nginx = await startLoadBalancer(t, slots.map((slot) => slot.port))

const readyStatus = async (api: ApiProcess) => (await api.request({ path: '/health/ready', timeoutMs: 2000 }).catch(() => undefined))?.status

/** The versions a few health reports through nginx name, to tell which releases serve. */
async function versionsBehindNginx (): Promise<Set<string>> {
  const versions = new Set<string>()
  for (let n = 0; n < 8; n++) {
    const response = await send(nginx.port, { path: '/health' })
    versions.add(response.status === 200 ? response.json<{ version: string }>().version : `status ${response.status}`)
  }
  return versions
}

interface Step {
  port: number
  from: string
  to: string
  /** From SIGTERM to readiness answering 503, ms. */
  notReadyMs: number
  /** From SIGTERM to exit, ms. */
  exitMs: number
  exit: { code: number | null, signal: NodeJS.Signals | null }
  /** From SIGTERM to the new process's readiness, ms. */
  replacedMs: number
  /** From the new process's readiness to nginx's first answer from it, ms. */
  inRotationMs: number
}

/** Replaces one slot's process as a deploy does: SIGTERM, drain, exit; then the other release on the same port. */
async function replace (slot: Slot, release: Release): Promise<Step> {
  const old = slot.process
  const signalledAt = old.signal('SIGTERM')
  const notReadyAt = await waitFor(async () => (await readyStatus(old)) === 503, { timeoutMs: DRAIN_MS, everyMs: 20 })
  // Not terminate(): a second SIGTERM makes the process exit at once.
  const { code, signal, at: exitedAt } = await old.exit()
  const exit = { code, signal }
  const next = await startApiProcess(t, env, { port: slot.port, serverJs: release.serverJs, cwd: release.root, startTimeoutMs: START_TIMEOUT_MS })
  const readyAt = await waitFor(async () => (await readyStatus(next)) === 200, { timeoutMs: 20_000 })
  if (readyAt === null) throw new Error(`the new process on port ${slot.port} did not become ready:\n${next.output()}`)
  // The next process is only stopped once nginx sends this one traffic again.
  const seen = (await nginx.accessLog()).length
  const answeredAt = await waitFor(async () => (await nginx.accessLog()).slice(seen).some((entry) =>
    entry.upstreams.at(-1) === `127.0.0.1:${slot.port}` && entry.status < 500), { timeoutMs: 15_000, everyMs: 25 })
  const step: Step = {
    port: slot.port,
    from: slot.release.version,
    to: release.version,
    notReadyMs: notReadyAt === null ? Number.NaN : notReadyAt - signalledAt,
    exitMs: exitedAt - signalledAt,
    exit,
    replacedMs: readyAt - signalledAt,
    inRotationMs: answeredAt === null ? Number.NaN : answeredAt - readyAt
  }
  slot.process = next
  slot.release = release
  t.comment(`port ${step.port} ${step.from} → ${step.to}: not ready after ${Math.round(step.notReadyMs)} ms, exited after ${Math.round(step.exitMs)} ms ` +
    `(drain ${DRAIN_MS} ms), replacement ready after ${Math.round(step.replacedMs)} ms, answering through nginx ${Math.round(step.inRotationMs)} ms later`)
  return step
}

t.test('a rolling deploy and its rollback behind nginx lose no request under steady load', async (t) => {
  t.same(await versionsBehindNginx(), new Set([before.version]), 'before the deploy, every process runs the current release')
  const story = (await send(nginx.port, { method: 'POST', path: '/v1/stories', headers: authHeaders(`user_2rdAuthor${suffix}`), body: { title: 'Read during the deploy', publish: true } })).json<StoryBody>()

  const load = startLoad(nginx.port, story.id)
  await sleep(500)
  const steps: Step[] = []
  for (const slot of slots) steps.push(await replace(slot, after))
  await sleep(300)
  const deployed = await versionsBehindNginx()
  for (const slot of slots) steps.push(await replace(slot, before))
  await sleep(300)
  const loadMs = await load.stop()
  const rolledBack = await versionsBehindNginx()

  t.same(deployed, new Set([after.version]), `after the deploy, nginx reaches only the new release (${after.version})`)
  t.same(rolledBack, new Set([before.version]), `after the rollback, nginx reaches only the previous release (${before.version})`)

  for (const step of steps) {
    const name = `port ${step.port}, ${step.from} → ${step.to}`
    t.same(step.exit, { code: 0, signal: null }, `${name}: the stopped process drained and exited 0`)
    t.ok(step.notReadyMs < DRAIN_MS, `${name}: its readiness failed at once (${Math.round(step.notReadyMs)} ms after SIGTERM)`)
    t.ok(step.exitMs >= DRAIN_MS, `${name}: it kept serving for the drain (exited ${Math.round(step.exitMs)} ms after SIGTERM)`)
  }

  const outcomes = load.outcomes
  // The one loss docs/operations.md names and this test does not avoid (it does not mark the
  // instance down and reload nginx first): a connection still in the kernel's accept queue when
  // the listener closes is reset, and nginx answers 502 to the POST it had sent on it. Counted,
  // and bounded to one per instance replaced; anything else is a failure.
  const acceptQueueResets = outcomes.filter((outcome) => outcome.kind === 'write' && outcome.response?.status === 502)
  const failures = outcomes.flatMap((outcome) => {
    const problem = acceptQueueResets.includes(outcome) ? null : failure(outcome)
    return problem === null ? [] : [`at ${Math.round(outcome.at)} ms: ${problem}`]
  })
  t.same(failures.slice(0, 20), [], `all ${outcomes.length} requests answered as expected (2xx, or the 404 asked for); ${failures.length} did not`)
  t.ok(acceptQueueResets.length <= steps.length, `POSTs reset in an accept queue as a listener closed: ${acceptQueueResets.length}, at most one per instance replaced`)
  t.same(new Set(outcomes.map((outcome) => outcome.kind)), new Set(['read', 'list', 'write', 'missing']), 'the load read, listed, wrote and asked for missing stories')

  const written = outcomes.filter((outcome) => outcome.kind === 'write' && outcome.response?.status === 201).map((outcome) => outcome.title as string)
  const stored = await db.selectFrom('stories').select(['title']).where('title', 'like', `Rolled ${suffix} %`).execute()
  t.same(stored.map((row) => row.title).sort(), written.sort(), `each of the ${written.length} writes answered 201 is stored once, and nothing else is`)

  const proxied: AccessLogEntry[] = (await nginx.accessLog()).filter((entry) => entry.uri.startsWith('/v1/'))
  const posts = proxied.filter((entry) => entry.method === 'POST')
  const resent = posts.filter((entry) => entry.upstreamStatuses.slice(0, -1).some((status) => status !== '502'))
  t.same(resent, [], 'nginx passed a POST on to another process only after a failed connection (nothing sent)')
  const retried = proxied.filter((entry) => entry.upstreams.length > 1)

  const latencies = outcomes.flatMap((outcome) => outcome.response === undefined ? [] : [outcome.response.ms]).sort((x, y) => x - y)
  t.comment(`${outcomes.length} requests (${written.length} writes) from ${CLIENTS} keep-alive clients in ${(loadMs / 1000).toFixed(1)} s ` +
    `(${Math.round(outcomes.length / (loadMs / 1000))} req/s), ${failures.length} failed, ${acceptQueueResets.length} POSTs reset in an accept queue; ` +
    `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(1)} ms; ` +
    `${retried.length} passed on by nginx to the other process (${retried.filter((entry) => entry.method === 'POST').length} POSTs)`)
  if (failures.length > 0) t.comment(`nginx error log:\n${await nginx.errorLog()}`)
})
