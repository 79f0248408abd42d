import { sql } from 'kysely'
import t from 'tap'
import { toClientError } from '../src/database-errors.js'
import { buildApp, labelledDatabase, runSql, startRequest, waitFor } from './helpers/setup.js'

const countNotes = async (url: string) => Number((await runSql<{ n: string }>(url, 'select count(*) as n from notes'))[0]?.n)

t.test('config.transaction: a failure after the first insert leaves no row', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.post('/two', { config: { transaction: true } }, async (request) => {
      await sql`insert into notes (body) values ('first')`.execute(request.tx ?? request.db)
      throw Object.assign(new Error('second step failed'), { statusCode: 422 })
    })
    app.post('/bad-sql', { config: { transaction: true } }, async (request) => {
      await sql`insert into notes (body) values ('first')`.execute(request.db)
      await sql`insert into notes (body) values (${'nul \u0000 inside'})`.execute(request.db)
      return { ok: true }
    })
    app.post('/ok', { config: { transaction: true } }, async (request, reply) => {
      await sql`insert into notes (body) values ('kept')`.execute(request.db)
      reply.code(201)
      return { inTransaction: request.tx !== null && request.db === request.tx }
    })
    app.get('/plain', async (request) => ({ tx: request.tx }))
  })
  t.equal((await app.inject({ method: 'POST', url: '/two' })).statusCode, 422)
  t.equal((await app.inject({ method: 'POST', url: '/bad-sql' })).statusCode, 500, 'PostgreSQL refused the NUL byte')
  t.equal(await countNotes(primary.url), 0, 'both transactions rolled back')
  const ok = await app.inject({ method: 'POST', url: '/ok' })
  t.equal(ok.statusCode, 201)
  t.same(ok.json(), { inTransaction: true })
  t.equal(await countNotes(primary.url), 1)
  t.same((await app.inject('/plain')).json(), { tx: null }, 'request.tx is null outside transactional routes')
  t.same(app.dbPool.stats()[0], { pool: 'primary', total: app.dbPool.stats()[0]?.total, idle: app.dbPool.stats()[0]?.total, waiting: 0 }, 'every connection is back in the pool')
})

t.test('config.transaction: a forced serialization failure is retried and succeeds', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  let attempts = 0
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.post('/flaky', { config: { transaction: true } }, async (request) => {
      attempts++
      await sql`insert into notes (body) values (${`attempt ${attempts}`})`.execute(request.db)
      if (attempts === 1) await sql`do $$ begin raise exception 'forced' using errcode = 'serialization_failure'; end $$`.execute(request.db)
      return { attempts }
    })
  })
  const response = await app.inject({ method: 'POST', url: '/flaky' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { attempts: 2 })
  t.same(await runSql(primary.url, 'select body from notes'), [{ body: 'attempt 2' }], 'only the successful attempt left a row')
})

t.test('config.transaction: a real write conflict under repeatable read is retried', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  await runSql(primary.url, "insert into notes (body) values ('counter')")
  let attempts = 0
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.post('/bump', { config: { transaction: { isolationLevel: 'repeatable read' } } }, async (request) => {
      attempts++
      // The snapshot is taken here; another session then changes the row and commits.
      await sql`select body from notes where body like 'counter%'`.execute(request.db)
      if (attempts === 1) await runSql(primary.url, "update notes set body = 'counter-other'")
      await sql`update notes set body = body || '+mine'`.execute(request.db)
      return { attempts }
    })
  })
  const response = await app.inject({ method: 'POST', url: '/bump' })
  t.same(response.json(), { attempts: 2 })
  t.same(await runSql(primary.url, 'select body from notes'), [{ body: 'counter-other+mine' }])
})

t.test('config.transaction: deadlocks are retried; retries stop after transactionRetries', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  let deadlocks = 0
  let always = 0
  const app = await buildApp(t, { primary: { connectionString: primary.url }, transactionRetries: 2 }, (app) => {
    app.post('/deadlock', { config: { transaction: true } }, async (request) => {
      if (deadlocks++ < 2) await sql`do $$ begin raise exception 'forced' using errcode = 'deadlock_detected'; end $$`.execute(request.db)
      return { deadlocks }
    })
    app.post('/always', { config: { transaction: true } }, async (request) => {
      always++
      await sql`do $$ begin raise exception 'forced' using errcode = 'serialization_failure'; end $$`.execute(request.db)
    })
    app.post('/read-only', { config: { transaction: { accessMode: 'read only' } } }, async (request) => {
      await sql`insert into notes (body) values ('nope')`.execute(request.db)
    })
  })
  t.same((await app.inject({ method: 'POST', url: '/deadlock' })).json(), { deadlocks: 3 })
  t.equal((await app.inject({ method: 'POST', url: '/always' })).statusCode, 500)
  t.equal(always, 3, 'one attempt and two retries')
  t.equal((await app.inject({ method: 'POST', url: '/read-only' })).statusCode, 500, 'a read-only transaction refuses writes')
  t.equal(await countNotes(primary.url), 0)
})

t.test('config.transaction: no retry once the reply was sent, even on a serialization failure', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const logs: Array<Record<string, unknown>> = []
  let attempts = 0
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.post('/early', { config: { transaction: true } }, async (request, reply) => {
      attempts++
      await sql`insert into notes (body) values (${`attempt ${attempts}`})`.execute(request.db)
      // Against the README's advice: the reply leaves before the commit.
      reply.send({ early: true })
      await sql`do $$ begin raise exception 'forced' using errcode = 'serialization_failure'; end $$`.execute(request.db)
      return reply
    })
  }, logs)
  const response = await app.inject({ method: 'POST', url: '/early' })
  t.same(response.json(), { early: true })
  await waitFor(() => logs.some((line) => line.msg === 'Promise errored, but reply.sent = true was set'), 5000, 'the handler to settle')
  t.equal(attempts, 1, 'a retry would run the handler, and its side effects, a second time')
  t.match(logs.find((line) => line.msg === 'Promise errored, but reply.sent = true was set'), { err: { code: '40001' } })
  t.equal(await countNotes(primary.url), 0, 'rolled back')
})

t.test('config.transaction: no retry once the request was aborted; the handler\'s own error ends it', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  let attempts = 0
  let final: { code?: string } | undefined
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.setErrorHandler((error: { code?: string }, _request, reply) => {
      final = error
      return reply.code(500).send({ code: error.code })
    })
    app.get('/gone', { config: { transaction: true } }, async (request) => {
      attempts++
      await sql`insert into notes (body) values (${`attempt ${attempts}`})`.execute(request.db)
      try {
        await sql`do $$ begin raise exception 'forced' using errcode = 'serialization_failure'; end $$`.execute(request.db)
      } catch (error) {
        // Clean-up that outlives the client, then the error goes on.
        request.raw.socket.destroy()
        await waitFor(() => request.signal.aborted, 5000, 'the abort')
        throw error
      }
      return { ok: true }
    })
  })
  await startRequest(app, '/gone')
  await waitFor(() => final !== undefined, 5000, 'the request to end')
  t.equal(final?.code, '40001', 'the serialization failure itself, not the cancellation a retry would meet')
  t.equal(attempts, 1)
  t.equal(await countNotes(primary.url), 0, 'rolled back')
})

t.test('a unique violation is a 409 conflict without the database message', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.post('/', async (request) => {
      await sql`insert into notes (body) values ('twice')`.execute(request.db)
      return { ok: true }
    })
  })
  t.equal((await app.inject({ method: 'POST', url: '/' })).statusCode, 200)
  const response = await app.inject({ method: 'POST', url: '/' })
  t.equal(response.statusCode, 409)
  t.equal(response.json().code, 'conflict')
  t.notMatch(response.body, /duplicate|notes_body_key|twice/, 'no database text')
  await t.rejects(sql`insert into notes (body) values ('twice')`.execute(app.db), { name: 'DbConflictError', cause: { code: '23505' } })
})

t.test('a database error keeps the row data it quotes out of serialized errors, still readable by code', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } })
  await sql`alter table notes add constraint notes_refused check (body <> 'private-draft-text')`.execute(app.db)
  const error = await sql`insert into notes (body) values ('private-draft-text')`.execute(app.db).catch((caught: unknown) => caught) as Record<string, unknown>
  t.match(error, { code: '23514', constraint: 'notes_refused' })
  t.match(error.detail, /Failing row contains .*private-draft-text/, 'readable')
  t.notOk(Object.keys(error).includes('detail'), 'not enumerable')
  t.notMatch(JSON.stringify(error), /private-draft-text/, 'so not serialized')
  const duplicate = await sql`insert into notes (body) values ('unique-body'), ('unique-body')`.execute(app.db).catch((caught: unknown) => caught) as { cause: Record<string, unknown> }
  t.match(duplicate.cause, { code: '23505' })
  t.notMatch(JSON.stringify(duplicate.cause), /unique-body/, 'nor the key of a unique violation')
  t.equal(toClientError('a driver rejecting with a string'), 'a driver rejecting with a string', 'anything else passes through')
})

t.test('Kysely transactions, controlled transactions and savepoints work on app.db', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } })
  await app.db.transaction().execute(async (trx) => {
    await sql`insert into notes (body) values ('a')`.execute(trx)
  })
  await t.rejects(app.db.transaction().execute(async (trx) => {
    await sql`insert into notes (body) values ('b')`.execute(trx)
    throw new Error('undo')
  }), { message: 'undo' })
  const trx = await app.db.startTransaction().setIsolationLevel('serializable').execute()
  // When an assertion fails mid-way, give the connection back: closing the app waits for it.
  t.teardown(() => trx.rollback().execute().catch(() => {}))
  await sql`insert into notes (body) values ('c')`.execute(trx)
  const point = await trx.savepoint('before "d"').execute()
  await sql`insert into notes (body) values ('d')`.execute(point)
  await point.rollbackToSavepoint('before "d"').execute()
  const released = await trx.savepoint('e').execute()
  await released.releaseSavepoint('e').execute()
  await trx.commit().execute()
  t.same(await runSql(primary.url, 'select body from notes order by body'), [{ body: 'a' }, { body: 'c' }])

  const aborted = await app.db.startTransaction().execute()
  t.teardown(() => aborted.rollback().execute().catch(() => {}))
  await t.rejects(sql`select 1/0`.execute(aborted))
  await t.rejects(aborted.commit().execute(), { name: 'AbortedTransactionError' }, 'COMMIT after an error is reported, not silently rolled back')
  t.equal(app.dbPool.stats()[0]?.waiting, 0)
})

t.test('a connection abandoned inside a transaction is not reused', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 1 })
  let abandoned: number | undefined
  await t.rejects(app.db.connection().execute(async (db) => {
    await sql`begin`.execute(db)
    await sql`insert into notes (body) values ('open')`.execute(db)
    abandoned = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]?.pid
    throw new Error('walked away')
  }), { message: 'walked away' })
  t.type(abandoned, 'number')
  t.equal(await countNotes(primary.url), 0)

  // With one connection allowed, the next checkout would get the abandoned one if it were pooled.
  const { rows: [next] } = await sql<{ pid: number, txid: string | null, fresh: boolean }>`
    select pg_backend_pid() as pid, txid_current_if_assigned() as txid, now() = statement_timestamp() as fresh`.execute(app.db)
  t.not(next?.pid, abandoned, 'a new backend, not the abandoned one')
  t.equal(next?.txid, null, 'no transaction with a write is open on it')
  t.equal(next?.fresh, true, 'its statement runs in a transaction of its own')
  await waitFor(async () => (await runSql(primary.url, 'select 1 from pg_stat_activity where pid = $1', [abandoned])).length === 0, 5000, 'the abandoned backend to exit')
  t.equal(await countNotes(primary.url), 0, 'its insert was rolled back')
})

t.test('a unique violation found at COMMIT is a 409 too, and the transaction is gone', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  await runSql(primary.url, 'create table deferred (v int unique deferrable initially deferred)')
  const app = await buildApp(t, { primary: { connectionString: primary.url } }, (app) => {
    app.post('/', { config: { transaction: true } }, async (request) => {
      await sql`insert into deferred (v) values (1), (1)`.execute(request.db)
      return { ok: true }
    })
  })
  const response = await app.inject({ method: 'POST', url: '/' })
  t.equal(response.statusCode, 409)
  t.equal(response.json().code, 'conflict')
  t.same(await runSql(primary.url, 'select v from deferred'), [])
})

t.test('a connection that dies inside a transaction is discarded and its error reported', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 1 })
  const killOwnBackend = async (db: typeof app.db) => {
    const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]?.pid
    await runSql(primary.url, 'select pg_terminate_backend($1)', [pid])
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await t.rejects(app.db.transaction().execute(async (trx) => {
    await sql`insert into notes (body) values ('lost at commit')`.execute(trx)
    await killOwnBackend(trx)
  }), 'the COMMIT fails')
  await t.rejects(app.db.transaction().execute(async (trx) => {
    await killOwnBackend(trx)
    await sql`insert into notes (body) values ('lost mid-way')`.execute(trx)
  }), 'the statement fails; the failing ROLLBACK does not hide that')
  t.equal(await countNotes(primary.url), 0)
  t.equal((await sql<{ n: number }>`select 1 as n`.execute(app.db)).rows[0]?.n, 1, 'a fresh connection took their place')
})
