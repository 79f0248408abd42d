import { sql } from 'kysely'
import t from 'tap'
import { activeQueries, buildApp, CLOSED_PORT_URL, labelledDatabase, waitFor } from './helpers/setup.js'

t.test('the statement timeout fires in the server on a direct connection', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url }, statementTimeoutMs: 300 })
  const started = Date.now()
  await t.rejects(sql`select pg_sleep(5)`.execute(app.db), { code: '57014', message: /statement timeout/ })
  t.ok(Date.now() - started < 4000, 'stopped long before the sleep would end')
  const setting = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(app.db)
  t.equal(setting.rows[0]?.statement_timeout, '300ms', 'set once for the session')
  await app.db.transaction().execute(async (trx) => {
    await t.rejects(sql`select pg_sleep(5)`.execute(trx), { code: '57014' }, 'and inside transactions')
  }).catch(() => {})
})

t.test('statementTimeoutMs: 0 leaves the server default', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url }, statementTimeoutMs: 0 })
  const setting = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(app.db)
  t.equal(setting.rows[0]?.statement_timeout, '0')
})

t.test('an exhausted pool answers 503 with Retry-After within connectTimeoutMs and recovers when connections free up', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 2, connectTimeoutMs: 400, retryAfterSeconds: 2 }, (app) => {
    app.get('/sleep/:seconds', async (request) => {
      const { seconds } = request.params as { seconds: string }
      await sql`select pg_sleep(${Number(seconds)})`.execute(request.db)
      return { slept: true }
    })
    app.get('/quick', async (request) => (await sql<{ n: number }>`select 1 as n`.execute(request.db)).rows[0])
  })
  const sleepers = [app.inject('/sleep/3'), app.inject('/sleep/3')]
  await waitFor(async () => (await activeQueries(primary.name, 'pg_sleep')).length === 2, 5000, 'both sleepers to run')
  t.same(app.dbPool.stats()[0], { pool: 'primary', total: 2, idle: 0, waiting: 0 }, 'both connections busy')

  const started = Date.now()
  const refused = await app.inject('/quick')
  const waited = Date.now() - started
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '2')
  t.equal(refused.json().code, 'db_unavailable')
  t.ok(waited >= 350, `waited for a connection (${waited} ms)`)
  t.ok(waited < 2500, `gave up well before a connection freed up (${waited} ms)`)
  t.equal(app.dbPool.stats()[0]?.waiting, 0, 'the abandoned wait left the queue')

  for (const response of await Promise.all(sleepers)) t.equal(response.statusCode, 200)
  const recovered = await app.inject('/quick')
  t.equal(recovered.statusCode, 200, 'served as soon as a connection is free')
  t.same(recovered.json(), { n: 1 })
})

t.test('a request queued behind busy connections is served when one frees up in time', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url }, poolMax: 1, connectTimeoutMs: 10_000 }, (app) => {
    app.get('/sleep', async (request) => {
      await sql`select pg_sleep(0.5)`.execute(request.db)
      return { slept: true }
    })
  })
  const [first, second] = await Promise.all([app.inject('/sleep'), app.inject('/sleep')])
  t.equal(first.statusCode, 200)
  t.equal(second.statusCode, 200)
})

t.test('a database that refuses connections is a 503, not a hang', async (t) => {
  const app = await buildApp(t, { primary: { connectionString: CLOSED_PORT_URL }, connectTimeoutMs: 2000 }, (app) => {
    app.get('/', async (request) => (await sql`select 1`.execute(request.db)).rows)
  })
  const response = await app.inject('/')
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '1')
  t.equal(response.json().code, 'db_unavailable')
  t.notMatch(response.body, /ECONNREFUSED|127\.0\.0\.1/, 'the reason stays in the logs')
  await t.rejects(app.dbPool.check(), { code: 'db_unavailable', cause: { code: 'ECONNREFUSED' } })
})
