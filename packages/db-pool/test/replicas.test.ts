import type { Health } from '@muejam/health'
import { sql } from 'kysely'
import t from 'tap'
import { buildApp, CLOSED_PORT_URL, labelledDatabase, runSql, waitFor } from './helpers/setup.js'

const whoami = sql<{ name: string }>`select name from whoami`

t.test('reads go round-robin over the replicas, writes and app.db to the primary', async (t) => {
  const [primary, one, two] = await Promise.all([
    labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1'), labelledDatabase(t, 'replica-2')
  ])
  const app = await buildApp(t, {
    primary: { connectionString: primary.url },
    replicas: [{ connectionString: one.url }, { connectionString: two.url }],
    poolMax: 2
  })
  const names = []
  for (let i = 0; i < 4; i++) names.push((await whoami.execute(app.dbRead)).rows[0]?.name)
  t.same(names, ['replica-1', 'replica-2', 'replica-1', 'replica-2'])
  t.equal((await whoami.execute(app.db)).rows[0]?.name, 'primary')
  t.same(app.dbPool.stats().map((s) => s.pool), ['primary', 'replica-1', 'replica-2'])
  t.same(app.dbPool.replicasInRotation(), ['replica-1', 'replica-2'])
  await app.dbPool.check()
})

t.test('without replicas dbRead is the primary', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.get('/', async (request) => ({
      read: (await whoami.execute(request.dbRead)).rows[0]?.name,
      same: request.dbRead === request.db
    }))
  })
  t.equal(app.dbRead, app.db)
  t.same((await app.inject('/')).json(), { read: 'primary', same: true })
  t.same(app.dbPool.replicasInRotation(), [])
})

t.test('a replica that cannot be reached leaves the rotation and reads still succeed', async (t) => {
  const [primary, two] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-2')])
  const logs: Array<Record<string, unknown>> = []
  const app = await buildApp(t, {
    primary: { connectionString: primary.url },
    replicas: [{ connectionString: CLOSED_PORT_URL }, { connectionString: two.url }],
    replicaRetryMs: 60_000
  }, undefined, logs)
  const names = []
  for (let i = 0; i < 4; i++) names.push((await whoami.execute(app.dbRead)).rows[0]?.name)
  t.same(names, ['replica-2', 'replica-2', 'replica-2', 'replica-2'], 'the dead replica is skipped')
  t.same(app.dbPool.replicasInRotation(), ['replica-2'])
  t.same(logs.map((line) => [line.pool, line.msg]), [['replica-1', 'read replica left the rotation']], 'taken out once, and logged')
  await t.rejects(app.dbPool.check(), { code: 'db_unavailable' }, 'the health check sees the dead replica')
})

t.test('when every replica fails reads fall back to the primary', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, {
    primary: { connectionString: primary.url },
    replicas: [{ connectionString: CLOSED_PORT_URL }]
  })
  t.equal((await whoami.execute(app.dbRead)).rows[0]?.name, 'primary')
  t.equal((await whoami.execute(app.dbRead)).rows[0]?.name, 'primary')
})

t.test('a replica that dies under a read is replaced by the primary for that read, and rejoins after replicaRetryMs', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const app = await buildApp(t, {
    primary: { connectionString: primary.url },
    replicas: [{ connectionString: one.url }],
    replicaRetryMs: 300
  })
  t.equal((await whoami.execute(app.dbRead)).rows[0]?.name, 'replica-1')
  // The replica stops taking connections and its open one is killed while idle in the pool.
  await runSql(primary.url, `alter database "${one.name}" allow_connections false`)
  const killed = await runSql(primary.url, 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [one.name])
  t.ok(killed.length >= 1, 'the replica connection was terminated')
  for (let i = 0; i < 3; i++) {
    t.equal((await whoami.execute(app.dbRead)).rows[0]?.name, 'primary', `read ${i + 1} is served`)
  }
  t.same(app.dbPool.replicasInRotation(), [])

  await runSql(primary.url, `alter database "${one.name}" allow_connections true`)
  await waitFor(() => app.dbPool.replicasInRotation().length === 1, 5000, 'the replica to rejoin')
  t.equal((await whoami.execute(app.dbRead)).rows[0]?.name, 'replica-1', 'back in rotation')
})

t.test('a connection killed while checked out is discarded and the read retried on the primary', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const app = await buildApp(t, {
    primary: { connectionString: primary.url },
    replicas: [{ connectionString: one.url }],
    replicaRetryMs: 60_000
  })
  const name = await app.dbRead.connection().execute(async (db) => {
    const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]?.pid
    await runSql(primary.url, 'select pg_terminate_backend($1)', [pid])
    // The socket closes between two queries of the same checkout.
    await new Promise((resolve) => setTimeout(resolve, 100))
    return (await whoami.execute(db)).rows[0]?.name
  })
  t.equal(name, 'primary')
  t.equal(app.dbPool.stats()[1]?.total, 0, 'the dead connection left the replica pool')
})

t.test('a write on the replica path is not retried elsewhere', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }] })
  await t.rejects(app.dbRead.connection().execute(async (db) => {
    const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]?.pid
    await runSql(primary.url, 'select pg_terminate_backend($1)', [pid])
    await new Promise((resolve) => setTimeout(resolve, 100))
    await sql`insert into notes (body) values ('lost')`.execute(db)
  }))
  t.same(await runSql(primary.url, 'select body from notes'), [], 'nothing written on the primary')
})

t.test('in a request, reads after a write and reads in a transaction go to the primary', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }] }, (app) => {
    app.post('/notes', async (request) => {
      const before = (await whoami.execute(request.dbRead)).rows[0]?.name
      const selected = (await whoami.execute(request.db)).rows[0]?.name
      const stillReplica = (await whoami.execute(request.dbRead)).rows[0]?.name
      await sql`insert into notes (body) values ('mine')`.execute(request.db)
      const after = (await whoami.execute(request.dbRead)).rows[0]?.name
      const notes = (await sql<{ body: string }>`select body from notes`.execute(request.dbRead)).rows
      return { before, selected, stillReplica, after, notes }
    })
    app.get('/fresh', async (request) => ({ name: (await whoami.execute(request.dbRead)).rows[0]?.name }))
    app.get('/tx', { config: { transaction: true } }, async (request) => ({
      name: (await whoami.execute(request.dbRead)).rows[0]?.name,
      isTx: request.dbRead === request.tx && request.db === request.tx
    }))
  })
  t.same((await app.inject({ method: 'POST', url: '/notes' })).json(), {
    before: 'replica-1',
    selected: 'primary',
    stillReplica: 'replica-1',
    after: 'primary',
    notes: [{ body: 'mine' }]
  }, 'a read on the primary alone does not pin the request; a write does')
  t.same((await app.inject('/fresh')).json(), { name: 'replica-1' }, 'the next request reads from the replica again')
  t.same((await app.inject('/tx')).json(), { name: 'primary', isTx: true })
})

t.test('the health check is registered with app.health: a dead primary fails it, a dead replica only degrades it', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const { default: Fastify } = await import('fastify')
  const { default: dbPool } = await import('../src/index.js')
  type Check = (signal: AbortSignal) => Promise<unknown>
  const register = async (options: Parameters<typeof dbPool>[1]) => {
    const checks: Array<{ name: string, check: Check, options: unknown }> = []
    const app = Fastify()
    t.teardown(() => app.close())
    // Only what the plugin uses of @muejam/health's decorator.
    app.decorate('health', { addCheck: (name: string, check: Check, options: unknown) => checks.push({ name, check, options }) } as unknown as Health)
    await app.register(dbPool, options)
    await app.ready()
    return checks
  }
  const signal = new AbortController().signal

  const healthy = await register({ primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }] })
  t.equal(healthy.length, 1)
  t.equal(healthy[0]?.name, 'database')
  t.same(healthy[0]?.options, { critical: true })
  t.same(await healthy[0]?.check(signal), { breakers: { primary: 'closed', 'replica-1': 'closed' } }, 'every pool answers; the details carry the breakers')

  const degraded = await register({ primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }, { connectionString: CLOSED_PORT_URL }] })
  t.same(await degraded[0]?.check(signal), { status: 'degraded', failing_pools: ['replica-2'], breakers: { primary: 'closed', 'replica-1': 'closed', 'replica-2': 'closed' } })

  const down = await register({ primary: { connectionString: CLOSED_PORT_URL }, replicas: [{ connectionString: one.url }] })
  t.same(await down[0]?.check(signal), { status: 'unhealthy', failing_pools: ['primary'], breakers: { primary: 'closed', 'replica-1': 'closed' } },
    'a failing primary: unhealthy, answered rather than thrown so the breakers show')

  const aborted = new AbortController()
  aborted.abort()
  await t.rejects(healthy[0]?.check(aborted.signal) as Promise<unknown>, { code: 'query_cancelled' }, 'a check that timed out stops')

  t.same(await register({ primary: { connectionString: primary.url }, healthCheck: false }), [], 'healthCheck: false registers nothing')
})

t.test('a write hidden in a CTE counts as a write', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }] }, (app) => {
    app.post('/cte', async (request) => {
      const db = request.db as unknown as import('kysely').Kysely<{ notes: { body: string }, whoami: { name: string } }>
      await db.with('added', (qb) => qb.insertInto('notes').values({ body: 'via cte' }).returning('body'))
        .selectFrom('added').selectAll().execute()
      return { read: (await whoami.execute(request.dbRead)).rows[0]?.name }
    })
    app.get('/cte-read', async (request) => {
      const db = request.db as unknown as import('kysely').Kysely<{ notes: { body: string }, whoami: { name: string } }>
      await db.with('names', (qb) => qb.selectFrom('whoami').select('name')).selectFrom('names').selectAll().execute()
      return { read: (await whoami.execute(request.dbRead)).rows[0]?.name }
    })
  })
  t.same((await app.inject({ method: 'POST', url: '/cte' })).json(), { read: 'primary' })
  t.same((await app.inject('/cte-read')).json(), { read: 'replica-1' }, 'a read-only CTE does not')
})

t.test('a busy replica makes callers queue (503 after connectTimeoutMs) without leaving the rotation', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }], poolMax: 1, connectTimeoutMs: 300 })
  await app.dbRead.connection().execute(async () => {
    await t.rejects(whoami.execute(app.dbRead), { code: 'db_unavailable' })
  })
  t.same(app.dbPool.replicasInRotation(), ['replica-1'])
  t.equal((await whoami.execute(app.dbRead)).rows[0]?.name, 'replica-1')
})

t.test('a request aborted while it waits for a replica does not take the replica out', async (t) => {
  const [primary, one] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  let failure: { code?: string } | undefined
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: one.url }], poolMax: 1, connectTimeoutMs: 30_000 }, (app) => {
    app.get('/read', async (request) => {
      const { signal } = request
      const read = whoami.execute(request.dbRead).catch((error: { code?: string }) => { failure = error })
      await waitFor(() => app.dbPool.stats()[1]?.waiting === 1, 5000, 'the read to queue')
      request.raw.socket.destroy()
      await waitFor(() => signal.aborted, 5000, 'the abort')
      await read
      return {}
    })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  await app.dbRead.connection().execute(async () => {
    await fetch(`http://127.0.0.1:${port}/read`).catch(() => null)
    await waitFor(() => failure !== undefined, 5000, 'the waiter to give up')
  })
  t.equal(failure?.code, 'query_cancelled')
  t.same(app.dbPool.replicasInRotation(), ['replica-1'])
})
