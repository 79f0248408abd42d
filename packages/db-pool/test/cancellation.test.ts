import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { activeQueries, addSleepRoute, buildApp, labelledDatabase, startRequest, waitFor } from './helpers/setup.js'

interface Outcome { error?: { code?: string, name?: string } }

t.test('a client that goes away cancels its running query; the connection serves the next query', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const marker = `cancel_${Date.now()}`
  const outcome: Outcome = {}
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 1, statementTimeoutMs: 60_000 }, (app) => {
    addSleepRoute(app, marker, (error) => { outcome.error = error })
    app.get('/pid', async (request) => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(request.db)).rows[0])
  })

  const before = (await app.inject('/pid')).json().pid as number
  const drop = await startRequest(app, '/sleep')
  await waitFor(async () => (await activeQueries(primary.name, marker)).length === 1, 10_000, 'the query to run')
  const started = Date.now()
  drop()
  await waitFor(async () => (await activeQueries(primary.name, marker)).length === 0, 10_000, 'the backend to stop')
  t.ok(Date.now() - started < 10_000, 'the backend stopped long before pg_sleep(30) would')
  await waitFor(() => outcome.error !== undefined, 5000, 'the handler to see the cancellation')
  t.equal(outcome.error?.code, 'query_cancelled')

  const after = await app.inject('/pid')
  t.equal(after.statusCode, 200)
  t.equal(after.json().pid, before, 'the same connection, back in the pool and usable')
  t.same(app.dbPool.stats()[0], { pool: 'primary', total: 1, idle: 1, waiting: 0 })
})

t.test('a deadline that aborts request.signal cancels the query and its error is the deadline\'s', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const marker = `deadline_${Date.now()}`
  const outcome: Outcome = {}
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 1 }, (app) => {
    app.get('/slow', { handlerTimeout: 300 }, async (request) => {
      try {
        await sql`select pg_sleep(30) as ${sql.raw(marker)}`.execute(request.db)
      } catch (error) {
        outcome.error = error as Outcome['error']
        throw error
      }
    })
  })
  const started = Date.now()
  const response = await app.inject('/slow')
  t.equal(response.statusCode, 503, 'the deadline answered')
  await waitFor(() => outcome.error !== undefined, 10_000, 'the query to stop')
  t.ok(Date.now() - started < 10_000)
  t.equal(outcome.error?.code, 'FST_ERR_HANDLER_TIMEOUT', 'the abort reason is rethrown')
  t.same(await activeQueries(primary.name, marker), [])
  t.equal((await sql<{ n: number }>`select 1 as n`.execute(app.db)).rows[0]?.n, 1)
})

t.test('an aborted request runs no further query and stops waiting for a connection', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const outcomes: Record<string, Outcome> = {}
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 1, connectTimeoutMs: 30_000 }, (app) => {
    app.get('/hold', async (request) => {
      await sql`select pg_sleep(2)`.execute(request.db)
      return { held: true }
    })
    app.get('/queued', async (request) => {
      try {
        await sql`select 1`.execute(request.db)
      } catch (error) {
        outcomes.queued = { error: error as Outcome['error'] }
        throw error
      }
    })
  })
  const hold = app.inject('/hold')
  await waitFor(() => app.dbPool.stats()[0]?.idle === 0 && app.dbPool.stats()[0]?.total === 1, 5000, 'the connection to be busy')
  const drop = await startRequest(app, '/queued')
  await waitFor(() => app.dbPool.stats()[0]?.waiting === 1, 5000, 'the request to queue')
  drop()
  await waitFor(() => outcomes.queued !== undefined, 5000, 'the waiter to give up')
  t.equal(outcomes.queued?.error?.code, 'query_cancelled')
  t.equal((await hold).statusCode, 200)
})

t.test('an already aborted signal never reaches the database', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const outcome: Outcome = {}
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.get('/late', async (request) => {
      const { signal } = request
      request.raw.socket.destroy()
      await waitFor(() => signal.aborted, 5000, 'the signal to abort')
      try {
        await sql`select 1`.execute(request.db)
      } catch (error) {
        outcome.error = error as Outcome['error']
      }
      try {
        await request.db.transaction().execute(async () => {})
      } catch (error) {
        (outcome as Record<string, unknown>).tx = (error as { code?: string }).code
      }
      return {}
    })
  })
  await startRequest(app, '/late')
  await waitFor(() => (outcome as Record<string, unknown>).tx !== undefined, 5000, 'the route to finish')
  t.equal(outcome.error?.code, 'query_cancelled')
  t.equal((outcome as Record<string, unknown>).tx, 'query_cancelled')
  t.equal(app.dbPool.stats()[0]?.total, 0, 'no connection was even opened')
})

t.test('cancellation also reaches a server over its Unix socket', async (t) => {
  const database = await labelledDatabase(t, 'unix')
  const socketDir = process.env.TEST_PG_SOCKET_DIR ?? '/var/run/postgresql'
  const marker = `unix_cancel_${Date.now()}`
  let failure: { code?: string } | undefined
  const app = await buildApp(t, { primary: { connectionString: `postgres:///${database.name}?host=${encodeURIComponent(socketDir)}&user=postgres` }, poolMax: 1 }, (app) => addSleepRoute(app, marker, (error) => { failure = error }))
  const drop = await startRequest(app, '/sleep')
  await waitFor(async () => (await activeQueries(database.name, marker)).length === 1, 10_000, 'the query to run')
  drop()
  await waitFor(async () => (await activeQueries(database.name, marker)).length === 0, 10_000, 'the backend to stop')
  await waitFor(() => failure !== undefined, 5000, 'the handler to see it')
  t.equal(failure?.code, 'query_cancelled')
})

t.test('a signal that aborts between two queries of one checkout stops the second before it is sent', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  let failure: { code?: string } | undefined
  let firstRan = false
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.get('/two', async (request) => {
      const { signal } = request
      await request.db.connection().execute(async (db) => {
        await sql`select 1`.execute(db)
        firstRan = true
        request.raw.socket.destroy()
        await waitFor(() => signal.aborted, 5000, 'the abort')
        await sql`select 2`.execute(db).catch((error: { code?: string }) => { failure = error })
      })
      return {}
    })
  })
  await startRequest(app, '/two')
  await waitFor(() => failure !== undefined, 5000, 'the second query to be refused')
  t.equal(firstRan, true)
  t.equal(failure?.code, 'query_cancelled')
})

t.test('an aborted request stops waiting for a server that accepts but never answers', async (t) => {
  const { createServer } = await import('node:net')
  const sockets = new Set<import('node:net').Socket>()
  const silent = createServer((socket) => { sockets.add(socket) })
  silent.listen(0, '127.0.0.1')
  await new Promise((resolve) => silent.once('listening', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    silent.close()
  })
  const silentPort = (silent.address() as AddressInfo).port
  let failure: { code?: string } | undefined
  const app = await buildApp(t, { primary: { connectionString: `postgres://postgres@127.0.0.1:${silentPort}/nothing` }, connectTimeoutMs: 800 }, (app) => {
    app.get('/wait', async (request) => {
      const { signal } = request
      const query = sql`select 1`.execute(request.db).catch((error: { code?: string }) => { failure = error })
      await waitFor(() => sockets.size === 1, 5000, 'the connection attempt')
      request.raw.socket.destroy()
      await waitFor(() => signal.aborted, 5000, 'the abort')
      await query
      return {}
    })
  })
  await startRequest(app, '/wait')
  await waitFor(() => failure !== undefined, 5000, 'the wait to end')
  t.equal(failure?.code, 'query_cancelled', 'gave up at once, not after connectTimeoutMs')
  // The abandoned attempt times out in the pool and leaves nothing behind.
  await waitFor(() => app.dbPool.stats()[0]?.total === 0, 5000, 'the attempt to be dropped')
  await new Promise((resolve) => setTimeout(resolve, 1000))
})

t.test('dbPool.readerFor(signal): a shared read on the readers, cancelled in PostgreSQL when its signal aborts', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const replica = await labelledDatabase(t, 'replica')
  const marker = `shared_${Date.now()}`
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: replica.url }], poolMax: 1, statementTimeoutMs: 60_000 })
  const label = await sql<{ name: string }>`select name from whoami`.execute(app.dbPool.readerFor(new AbortController().signal))
  t.same(label.rows, [{ name: 'replica' }], 'reads go to the replica')

  const controller = new AbortController()
  const running = sql`select pg_sleep(30) as ${sql.raw(marker)}`.execute(app.dbPool.readerFor(controller.signal)).catch((error: unknown) => error)
  await waitFor(async () => (await activeQueries(replica.name, marker)).length === 1, 10_000, 'the query to run')
  controller.abort()
  t.match(await running, { code: 'query_cancelled' })
  await waitFor(async () => (await activeQueries(replica.name, marker)).length === 0, 10_000, 'the backend to stop')
  t.same(app.dbPool.stats()[1], { pool: 'replica-1', total: 1, idle: 1, waiting: 0 }, 'the connection is back in the pool')
})

t.test('dbPool.readerFor(signal) reads from the primary when there is no replica', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } })
  const { rows } = await sql<{ name: string }>`select name from whoami`.execute(app.dbPool.readerFor(new AbortController().signal))
  t.same(rows, [{ name: 'primary' }])
})
