import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAdmin } from '@muejam/testing/database'
import t, { type Test } from 'tap'
import { type ApiProcess, type ApiResponse, startApiProcess, waitFor } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { databaseEnv } from './helpers/build.js'
import { watchActivity } from './helpers/pg-activity.js'
import { seedStory, storedStory } from './helpers/seed.js'

/*
 * Deadlines of the real server process (`node dist/server.js`): a request stuck in
 * PostgreSQL is answered 504 and its query cancelled in the server, and clients that send
 * too slowly are cut off by the socket timeouts while others are served.
 */

t.test('a request blocked on a row lock is answered 504 at its deadline, its query is cancelled in PostgreSQL, nothing is written and the same pool serves the next request', async (t) => {
  const env = await databaseEnv(t, 'deadline_lock')
  // One connection in the pool: if the cancelled query kept it, the next request could not run.
  const server = await startApiProcess(t, { ...env, LOG_LEVEL: 'warn', REQUEST_TIMEOUT_MS: '500', DB_POOL_MAX: '1', DB_CONNECT_TIMEOUT_MS: '2000' })
  const activity = await watchActivity(t, env.DATABASE_URL)
  const author = `user_deadline_${process.pid}`
  const story = await seedStory(activity.client, author)

  // Warm the process (first requests compile code paths) until the story reads in time.
  const warm = await waitFor(async () => (await server.request({ path: `/v1/stories/${story.id}`, headers: authHeaders(author) })).status === 200, { timeoutMs: 10_000, everyMs: 100 })
  t.not(warm, null, 'the story reads within the deadline')
  const [connection, ...others] = await activity.apiBackends()
  t.equal(others.length, 0, 'the pool holds exactly one connection')

  // The test's own transaction holds the story's row.
  const locker = await connectAdmin(env.DATABASE_URL)
  t.teardown(() => locker.end().catch(() => {}))
  await locker.query('begin')
  await locker.query('select id from stories where id = $1 for update', [story.id])

  const sentAt = performance.now()
  const patching = server.request({ method: 'PATCH', path: `/v1/stories/${story.id}`, headers: authHeaders(author), body: { title: 'Written under a lock' } })
  // The PATCH takes the story's row lock (select … for update) before it checks and writes.
  const blocked = await waitFor(async () => (await activity.apiBackends()).some((backend) => backend.wait_event_type === 'Lock' && /for update/i.test(backend.query)), { timeoutMs: 1500, everyMs: 20 })
  t.not(blocked, null, 'the PATCH is waiting on the row lock inside PostgreSQL')

  const response = await patching
  const answeredAt = performance.now()
  t.comment(`504 after ${Math.round(response.ms)} ms`)
  t.equal(response.status, 504)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.equal(response.json().code, 'request_timeout')
  t.equal(response.json().timeout_ms, 500)
  t.ok(response.ms >= 500 && response.ms <= 1500, `answered between 0.5 s and 1.5 s (${Math.round(response.ms)} ms)`)
  t.ok(answeredAt - sentAt >= 500)

  const gone = await waitFor(async () => (await activity.apiBackends()).every((backend) => backend.state !== 'active'), { timeoutMs: 1000, everyMs: 20 })
  t.not(gone, null, 'within 1 s no query of the API runs any more: the locking query was cancelled, not left waiting')
  if (gone !== null) t.comment(`the locking query was gone from pg_stat_activity ${Math.round(gone - answeredAt)} ms after the 504`)
  const waiting = await activity.client.query('select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database where d.datname = current_database() and not l.granted')
  t.equal(waiting.rows[0].n, 0, 'no lock request is left waiting')

  // The lock is still held: a read on the pool's only connection answers at once.
  const read = await server.request({ path: `/v1/stories/${story.id}`, headers: authHeaders(author) })
  t.equal(read.status, 200, 'the next request succeeds on the same pool')
  t.equal(read.json().title, story.title)
  t.same((await activity.apiBackends()).map((backend) => backend.pid), [connection?.pid], 'on the same connection: it went back to the pool usable')

  await locker.query('rollback')
  // Had the PATCH's query survived the 504, it would run now that the lock is free.
  await sleep(200)
  const stored = await storedStory(activity.client, story.id)
  t.equal(stored.title, story.title, 'nothing was written: the title is unchanged')
  t.equal(stored.updated_at.getTime(), story.updatedAt.getTime(), 'updated_at is unchanged')

  const patched = await server.request({ method: 'PATCH', path: `/v1/stories/${story.id}`, headers: authHeaders(author), body: { title: 'Written once the lock is gone' } })
  t.equal(patched.status, 200, 'with the lock gone the same change succeeds')
  t.equal((await storedStory(activity.client, story.id)).title, 'Written once the lock is gone')
})

interface SlowClient {
  /** Bytes written before the server closed the connection. */
  sent: number
  /** What the server wrote back. */
  received: string
  /** Connected at, and closed at (null while open), `performance.now()`. */
  openedAt: number
  closedAt: number | null
  done: Promise<void>
}

/** A client that writes `text` one byte every `everyMs` over a real socket until the server closes it. */
function slowClient (port: number, text: string, everyMs = 1000): SlowClient {
  const socket: Socket = connect(port, '127.0.0.1')
  const client: SlowClient = { sent: 0, received: '', openedAt: performance.now(), closedAt: null, done: Promise.resolve() }
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => { client.received += chunk })
  socket.on('error', () => {})
  let timer: NodeJS.Timeout | undefined
  const tick = () => {
    if (socket.destroyed || client.sent >= text.length) return
    socket.write(text[client.sent] as string)
    client.sent++
    timer = setTimeout(tick, everyMs)
  }
  socket.once('connect', () => {
    client.openedAt = performance.now()
    tick()
  })
  client.done = new Promise((resolve) => socket.once('close', () => {
    client.closedAt = performance.now()
    clearTimeout(timer)
    resolve()
  }))
  return client
}

/** Fresh-connection requests every 200 ms while `busy` runs: what other clients see meanwhile. */
async function othersWhile (server: ApiProcess, user: string, busy: Promise<unknown>): Promise<Array<ApiResponse | Error>> {
  const results: Array<ApiResponse | Error> = []
  const state = { running: true }
  const stop = () => { state.running = false }
  busy.then(stop, stop)
  while (state.running) {
    results.push(await server.request({ path: '/v1/stories', headers: authHeaders(user), timeoutMs: 5000 }).catch((error: Error) => error))
    await sleep(200)
  }
  return results
}

function assertServed (t: Test, results: Array<ApiResponse | Error>) {
  const failures = results.filter((result) => result instanceof Error || result.status !== 200)
  t.ok(results.length >= 10, `others kept sending (${results.length} requests)`)
  t.same(failures, [], 'every other request was answered 200')
  const slowest = Math.max(...results.map((result) => result instanceof Error ? Infinity : result.ms))
  t.ok(slowest < 1000, `and promptly (slowest ${Math.round(slowest)} ms)`)
}

t.test('slow-loris clients sending headers one byte a second are disconnected by headersTimeout with the production defaults while others are served', async (t) => {
  const env = await databaseEnv(t, 'deadline_loris')
  // REQUEST_TIMEOUT_MS left at its default (30 s): headersTimeout is then 10 s.
  const server = await startApiProcess(t, { ...env, LOG_LEVEL: 'warn', RATE_LIMIT_MAX_AUTHENTICATED: '100000' })
  const request = `GET /v1/stories HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${'s'.repeat(200)}\r\n\r\n`
  // Twenty slow clients, and one that connects and never sends a byte.
  const clients = [...Array.from({ length: 20 }, () => slowClient(server.port, request)), slowClient(server.port, '')]
  const all = Promise.all(clients.map((client) => client.done))
  const giveUp = sleep(20_000).then(() => { throw new Error('a slow client was still connected after 20 s') })
  const others = othersWhile(server, `user_loris_${process.pid}`, Promise.race([all, giveUp]))
  await Promise.race([all, giveUp])

  for (const [index, client] of clients.entries()) {
    const heldMs = (client.closedAt as number) - client.openedAt
    // 10 s of headersTimeout, plus up to 1 s until Node's connection sweep sees it, plus a
    // loaded machine's slack.
    t.ok(heldMs >= 9000 && heldMs <= 13_000, `client ${index + 1} was cut after ${Math.round(heldMs)} ms (10–13 s)`)
    t.ok(client.sent < request.length, `before it finished its headers (${client.sent} of ${request.length} bytes)`)
    t.match(client.received, /^HTTP\/1\.1 408 Request Timeout\r\n/, 'with 408 Request Timeout')
  }
  assertServed(t, await others)
  t.notOk(server.exited, 'the server is still running')
  t.equal((await server.request('/health/live')).status, 200)
})

t.test('a client sending its body one byte a second is cut off at the request deadline while others are served', async (t) => {
  const env = await databaseEnv(t, 'deadline_slow_body')
  // REQUEST_TIMEOUT_MS=2000: the request, body included, must arrive within 2 s.
  const server = await startApiProcess(t, { ...env, LOG_LEVEL: 'warn', REQUEST_TIMEOUT_MS: '2000', RATE_LIMIT_MAX_AUTHENTICATED: '100000' })
  const author = `user_slow_body_${process.pid}`
  const body = JSON.stringify({ title: 'A story that arrives too slowly', description: 'x'.repeat(100) })
  const head = `POST /v1/stories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authHeaders(author).authorization}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  // The headers go at once; the body trickles, one byte a second.
  const trickles = Array.from({ length: 5 }, () => {
    const socket = connect(server.port, '127.0.0.1')
    let received = ''
    let sent = 0
    const openedAt = performance.now()
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { received += chunk })
    socket.on('error', () => {})
    socket.write(head)
    const timer = setInterval(() => {
      if (!socket.destroyed && sent < body.length) socket.write(body[sent++] as string)
    }, 1000)
    return new Promise<{ heldMs: number, received: string, sent: number }>((resolve) => socket.once('close', () => {
      clearInterval(timer)
      resolve({ heldMs: performance.now() - openedAt, received, sent })
    }))
  })
  const all = Promise.all(trickles)
  const others = othersWhile(server, `user_slow_body_other_${process.pid}`, all)
  const results = await all
  for (const [index, { heldMs, received, sent }] of results.entries()) {
    t.ok(heldMs >= 1500 && heldMs <= 5000, `client ${index + 1} was cut after ${Math.round(heldMs)} ms (2 s deadline, 1 s sweep, slack)`)
    t.ok(sent < body.length, `before its body was complete (${sent} of ${body.length} bytes)`)
    t.match(received, /^HTTP\/1\.1 (408|504) /, `with 408 (socket) or 504 (handler deadline), whichever came first: ${received.split('\r\n')[0] ?? ''}`)
  }
  assertServed(t, await others)
  const stories = await server.request({ path: '/v1/stories?limit=100' })
  t.notOk(stories.json<{ items: Array<{ title: string }> }>().items.some((story) => story.title === 'A story that arrives too slowly'), 'no story was created')
})
