import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import type { Health, HealthCheck } from '@muejam/health'
import { buildApp, waitFor } from './helpers/setup.js'

t.setTimeout(120_000)

t.test('an in-memory PGlite database: queries, transactions, conflicts, stats and health', async (t) => {
  const app = await buildApp(t, { embedded: { dataDir: 'memory://' }, connectTimeoutMs: 300 }, (app) => {
    app.post('/notes', { config: { transaction: true } }, async (request) => {
      const body = (request.body as { body: string }).body
      await sql`insert into notes (body) values (${body})`.execute(request.db)
      if (body === 'fail') throw new Error('undo')
      return { body }
    })
    app.get('/notes', async (request) => (await sql<{ body: string }>`select body from notes order by id`.execute(request.dbRead)).rows)
  })
  t.equal(app.dbPool.embedded, true)
  await sql`create table notes (id serial primary key, body text not null unique)`.execute(app.db)
  t.equal((await app.inject({ method: 'POST', url: '/notes', body: { body: 'one' } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/notes', body: { body: 'fail' } })).statusCode, 500)
  const conflict = await app.inject({ method: 'POST', url: '/notes', body: { body: 'one' } })
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().code, 'conflict')
  t.same((await app.inject('/notes')).json(), [{ body: 'one' }], 'the failed transaction left nothing')

  const updated = await app.db.updateTable('notes' as never).set({ body: 'uno' } as never).executeTakeFirst()
  t.equal(updated.numUpdatedRows, 1n, 'affected rows are reported')
  await t.rejects(sql`select 1/0`.execute(app.db), { code: '22012' })
  await t.rejects(app.db.selectFrom('notes' as never).selectAll().stream().next(), /does not stream/)

  const trx = await app.db.startTransaction().setIsolationLevel('serializable').setAccessMode('read write').execute()
  await sql`insert into notes (body) values ('dos')`.execute(trx)
  t.same(app.dbPool.stats(), [{ pool: 'primary', total: 1, idle: 0, waiting: 0 }], 'the open transaction holds the database')
  const queued = await app.inject('/notes')
  t.equal(queued.statusCode, 503, 'a caller that cannot have it within connectTimeoutMs gets 503')
  t.equal(queued.headers['retry-after'], '1')
  const point = await trx.savepoint('p').execute()
  await t.rejects(sql`select 1/0`.execute(point))
  await point.rollbackToSavepoint('p').execute()
  await trx.commit().execute()
  t.same((await app.inject('/notes')).json(), [{ body: 'uno' }, { body: 'dos' }])

  const aborted = await app.db.startTransaction().execute()
  await t.rejects(sql`select 1/0`.execute(aborted))
  await t.rejects(aborted.commit().execute(), { name: 'AbortedTransactionError' })
  await t.rejects(app.db.transaction().execute(async () => { throw new Error('nothing') }), { message: 'nothing' })
  await t.rejects(sql`begin isolation level nonsense`.execute(app.db))
  await sql`create table deferred (v int unique deferrable initially deferred)`.execute(app.db)
  await t.rejects(app.db.transaction().execute(async (trx) => {
    await sql`insert into deferred (v) values (1), (1)`.execute(trx)
  }), { code: 'conflict' }, 'a violation found at COMMIT is a conflict')
  await app.dbPool.check()
  t.same(app.dbPool.stats(), [{ pool: 'primary', total: 1, idle: 1, waiting: 0 }])
  t.same(app.dbPool.replicasInRotation(), [])
})

t.test('waiting callers are served in turn and an aborted waiter leaves the queue', async (t) => {
  const app = await buildApp(t, { embedded: { dataDir: 'memory://' } })
  const held = await app.db.startTransaction().execute()
  const order: number[] = []
  const waiters = [1, 2, 3].map((n) => sql`select ${n}::int as n`.execute(app.db).then(() => order.push(n)))
  await waitFor(() => app.dbPool.stats()[0]?.waiting === 3, 5000, 'three waiters')
  await held.commit().execute()
  await Promise.all(waiters)
  t.same(order, [1, 2, 3])

  // Releasing a connection still inside a transaction rolls it back first.
  await t.rejects(app.db.connection().execute(async (db) => {
    await sql`begin`.execute(db)
    await sql`create table abandoned (n int)`.execute(db)
    throw new Error('walked away')
  }))
  await app.db.connection().execute(async (db) => {
    await sql`begin`.execute(db)
    await sql`create table committed (n int)`.execute(db)
    await sql`commit`.execute(db)
  })
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`.execute(app.db)
  t.same(tables.rows, [{ name: 'committed' }], 'the abandoned transaction was rolled back, the committed one kept')
})

t.test('a request aborted while queued for the embedded database gives up', async (t) => {
  let failure: { code?: string } | undefined
  const app = await buildApp(t, { embedded: { dataDir: 'memory://' }, connectTimeoutMs: 30_000 }, (app) => {
    app.get('/queued', async (request) => {
      const { signal } = request
      const query = sql`select 1`.execute(request.db).catch((error: { code?: string }) => { failure = error })
      await waitFor(() => app.dbPool.stats()[0]?.waiting === 1, 5000, 'the request to queue')
      request.raw.socket.destroy()
      await waitFor(() => signal.aborted, 5000, 'the abort')
      await query
      try {
        await sql`select 1`.execute(request.db)
      } catch {}
      return {}
    })
  })
  const held = await app.db.startTransaction().execute()
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  const response = fetch(`http://127.0.0.1:${address.port}/queued`).catch(() => null)
  await waitFor(() => failure !== undefined, 10_000, 'the waiter to give up')
  t.equal(failure?.code, 'query_cancelled')
  t.equal(app.dbPool.stats()[0]?.waiting, 0)
  await held.commit().execute()
  await response
})

t.test('a PGlite data directory keeps its data across restarts', async (t) => {
  const dataDir = join(await mkdtemp(join(tmpdir(), 'muejam-pglite-')), 'nested', 'pglite')
  t.teardown(() => rm(join(dataDir, '..', '..'), { recursive: true, force: true }))
  const { default: Fastify } = await import('fastify')
  const { default: dbPool } = await import('../src/index.js')
  // initdb on a busy machine can take longer than Fastify's 10 s for onReady.
  const first = Fastify({ pluginTimeout: 60_000 })
  t.teardown(() => first.close())
  await first.register(dbPool, { embedded: { dataDir } }).ready()
  await sql`create table kept (v text)`.execute(first.db)
  await sql`insert into kept (v) values ('still here')`.execute(first.db)
  await first.close()
  const second = await buildApp(t, { embedded: { dataDir } })
  t.same((await sql<{ v: string }>`select v from kept`.execute(second.db)).rows, [{ v: 'still here' }])
})

t.test('an embedded query after the request was aborted is refused', async (t) => {
  let failure: { code?: string } | undefined
  const app = await buildApp(t, { embedded: { dataDir: 'memory://' } }, (app) => {
    app.get('/two', async (request) => {
      const { signal } = request
      await request.db.connection().execute(async (db) => {
        await sql`select 1`.execute(db)
        request.raw.socket.destroy()
        await waitFor(() => signal.aborted, 5000, 'the abort')
        await sql`select 2`.execute(db).catch((error: { code?: string }) => { failure = error })
      })
      return {}
    })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  await fetch(`http://127.0.0.1:${port}/two`).catch(() => null)
  await waitFor(() => failure !== undefined, 5000, 'the refusal')
  t.equal(failure?.code, 'query_cancelled')
  await waitFor(() => app.dbPool.stats()[0]?.idle === 1, 5000, 'the database to be free again')
})

t.test('the embedded database registers its health check too', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: dbPool } = await import('../src/index.js')
  let check: HealthCheck | undefined
  const app = Fastify()
  t.teardown(() => app.close())
  // Only what the plugin uses of @muejam/health's decorator.
  app.decorate('health', { addCheck: (_name: string, fn: HealthCheck) => { check = fn } } as unknown as Health)
  await app.register(dbPool, { embedded: { dataDir: 'memory://' } })
  await app.ready()
  t.equal(await check?.(new AbortController().signal), undefined)
})

t.test('an embedded data directory that cannot be created fails ready(), not a request later', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: dbPool } = await import('../src/index.js')
  const { writeFile } = await import('node:fs/promises')
  const root = await mkdtemp(join(tmpdir(), 'muejam-pglite-bad-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await writeFile(join(root, 'file'), 'not a directory')
  const app = Fastify()
  await app.register(dbPool, { embedded: { dataDir: join(root, 'file', 'pglite') } })
  await t.rejects(async () => { await app.ready() }, { code: 'ENOTDIR' })
  await app.close()
})

t.test('without @electric-sql/pglite installed, the embedded database fails ready() with MUEJAM_DB_POOL_MISSING_PEER naming npm install', async (t) => {
  const { PGliteDatabase, PGLITE_MODULE } = await import('../src/pglite-database.js')
  const { MissingPeerError } = await import('../src/index.js')
  t.equal(PGLITE_MODULE, '@electric-sql/pglite')
  const database = new PGliteDatabase({ dataDir: 'memory://', settings: {}, connectTimeoutMs: 1000, retryAfterSeconds: 1, pgliteModule: '@electric-sql/not-installed' })
  const error = await database.ready.catch((caught: unknown) => caught)
  t.ok(error instanceof MissingPeerError)
  t.match(error, {
    code: 'MUEJAM_DB_POOL_MISSING_PEER',
    message: 'The embedded database (@muejam/db-pool option embedded) needs the optional peer dependency @electric-sql/not-installed, which is not installed: run `npm install @electric-sql/not-installed`'
  })
  await t.rejects(database.acquire(null), { code: 'MUEJAM_DB_POOL_MISSING_PEER' }, 'a query is refused with the same error')
  await database.close()
})

t.test('an installed package that fails to load is not reported as missing', async (t) => {
  const { importOptionalPeer } = await import('../src/optional-peer.js')
  await t.rejects(importOptionalPeer('data:text/javascript,throw new Error("broken inside")', 'Embedding'), { message: 'broken inside' })
  await t.rejects(importOptionalPeer('@electric-sql/not-installed', 'Embedding'), { code: 'MUEJAM_DB_POOL_MISSING_PEER', message: /^Embedding needs/ })
})
