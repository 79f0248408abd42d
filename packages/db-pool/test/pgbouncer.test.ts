import { startPgbouncer } from '@muejam/testing/pgbouncer'
import { sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { activeQueries, addSleepRoute, buildApp, labelledDatabase, runSql, startRequest, waitFor } from './helpers/setup.js'

t.test('through pgbouncer in transaction mode', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const bouncer = await startPgbouncer(t, { databaseUrl: primary.url, poolSize: 5 })

  t.test('pgbouncer refuses the options startup parameter, so it cannot carry the timeout', async (t) => {
    const url = new URL(bouncer.url())
    url.searchParams.set('options', '-c statement_timeout=100')
    const client = new pg.Client({ connectionString: url.href })
    await t.rejects(client.connect(), { message: /unsupported startup parameter/ })
    await client.end().catch(() => {})
  })

  t.test('the statement timeout fires, outside and inside transactions, and leaks into no server session', async (t) => {
    const app = await buildApp(t, { primary: { connectionString: bouncer.url() }, statementTimeoutMs: 300, poolMax: 3 }, (app) => {
      app.get('/sleep', async (request) => {
        await sql`select pg_sleep(5)`.execute(request.db)
      })
      app.post('/sleep', { config: { transaction: true } }, async (request) => {
        await sql`insert into notes (body) values ('before the timeout')`.execute(request.db)
        await sql`select pg_sleep(5)`.execute(request.db)
      })
    })
    const started = Date.now()
    await t.rejects(sql`select pg_sleep(5)`.execute(app.db), { code: '57014', message: /statement timeout/ })
    t.equal((await app.inject('/sleep')).statusCode, 500)
    t.equal((await app.inject({ method: 'POST', url: '/sleep' })).statusCode, 500)
    await t.rejects(app.db.transaction().execute(async (trx) => { await sql`select pg_sleep(5)`.execute(trx) }), { code: '57014' })
    t.ok(Date.now() - started < 12_000, 'each stopped long before its sleep would end')
    t.same(await runSql(primary.url, 'select body from notes'), [], 'the transaction rolled back')

    // Every server connection pgbouncer holds still has the database default.
    const clients = await Promise.all(Array.from({ length: 5 }, async () => {
      const client = new pg.Client({ connectionString: bouncer.url() })
      await client.connect()
      return client
    }))
    const settings = await Promise.all(clients.map(async (client) => {
      await client.query('begin')
      return (await client.query<{ statement_timeout: string }>('show statement_timeout')).rows[0]?.statement_timeout
    }))
    await Promise.all(clients.map((client) => client.end()))
    t.same(settings, ['0', '0', '0', '0', '0'])
  })

  t.test('50 concurrent requests with poolMax above pgbouncer\'s pool all succeed', async (t) => {
    const app = await buildApp(t, { primary: { connectionString: bouncer.url() }, poolMax: 60, statementTimeoutMs: 10_000, connectTimeoutMs: 20_000 }, (app) => {
      app.post('/notes/:n', { config: { transaction: true } }, async (request) => {
        const { n } = request.params as { n: string }
        await sql`select pg_sleep(0.05)`.execute(request.db)
        await sql`insert into notes (body) values (${`note ${n}`})`.execute(request.db)
        return { n }
      })
      app.get('/read', async (request) => (await sql<{ name: string }>`select name, pg_sleep(0.05) from whoami`.execute(request.dbRead)).rows[0])
    })
    const writes = await Promise.all(Array.from({ length: 50 }, (_, n) => app.inject({ method: 'POST', url: `/notes/${n}` })))
    t.same(writes.map((response) => response.statusCode), Array(50).fill(200))
    const reads = await Promise.all(Array.from({ length: 50 }, () => app.inject('/read')))
    t.same(reads.map((response) => response.statusCode), Array(50).fill(200))
    const [count] = await runSql<{ n: string }>(primary.url, 'select count(*) as n from notes')
    t.equal(count?.n, '50')
    t.ok((app.dbPool.stats()[0]?.total ?? 0) > 5, 'more client connections than pgbouncer has server connections')
  })

  t.test('a client that goes away cancels its query through pgbouncer', async (t) => {
    const marker = `bouncer_cancel_${Date.now()}`
    let failure: { code?: string } | undefined
    const app = await buildApp(t, { primary: { connectionString: bouncer.url() }, poolMax: 1, statementTimeoutMs: 60_000 }, (app) => addSleepRoute(app, marker, (error) => { failure = error }))
    const drop = await startRequest(app, '/sleep')
    await waitFor(async () => (await activeQueries(primary.name, marker)).length === 1, 10_000, 'the query to run')
    drop()
    await waitFor(async () => (await activeQueries(primary.name, marker)).length === 0, 10_000, 'the backend to stop')
    await waitFor(() => failure !== undefined, 5000, 'the handler to see it')
    t.equal(failure?.code, 'query_cancelled')
    t.equal((await sql<{ n: number }>`select 1 as n`.execute(app.db)).rows[0]?.n, 1, 'the connection still serves')
    t.equal(app.dbPool.stats()[0]?.total, 1)
  })
})

t.test('a rotated password reaches new connections through the password function; open ones keep working', async (t) => {
  const database = await labelledDatabase(t, 'rotation')
  const role = `muejam_rotation_${process.pid}_${Date.now()}`
  await runSql(database.url, `create role "${role}" login password 'first-password'; grant select on whoami to "${role}"`)
  t.teardown(async () => {
    await database.drop()
    await runSql(database.url.replace(`/${database.name}`, '/test'), `drop role if exists "${role}"`)
  })
  const bouncer = await startPgbouncer(t, { databaseUrl: database.url, passwordAuth: true })
  let password = 'first-password'
  let asked = 0
  const app = await buildApp(t, {
    primary: { connectionString: bouncer.url(role, 'a-stale-password-in-the-url'), password: () => { asked++; return password } },
    poolMax: 4,
    idleTimeoutMs: 60_000
  })
  const whoami = sql<{ name: string }>`select name from whoami`
  const held = await app.db.startTransaction().execute()
  t.equal((await whoami.execute(held)).rows[0]?.name, 'rotation')
  t.equal(asked, 1)

  await runSql(database.url, `alter role "${role}" password 'second-password'`)
  await t.rejects(new Promise((resolve, reject) => {
    const stale = new pg.Client({ connectionString: bouncer.url(role, 'first-password') })
    stale.connect().then(() => stale.end().then(resolve), (error: unknown) => { stale.end().catch(() => {}); reject(error) })
  }), { message: /authentication failed/ }, 'the old password no longer opens connections')
  password = 'second-password'

  const fresh = await Promise.all([1, 2, 3].map(() => whoami.execute(app.db)))
  t.same(fresh.map((result) => result.rows[0]?.name), ['rotation', 'rotation', 'rotation'], 'new connections use the new password')
  t.equal(asked, 4, 'asked once per new connection')
  t.equal((await whoami.execute(held)).rows[0]?.name, 'rotation', 'the connection opened before the rotation still works')
  await held.commit().execute()
})
