import { sql } from 'kysely'
import t from 'tap'
import { resolveOptions } from '../src/options.js'
import { buildApp, labelledDatabase } from './helpers/setup.js'

t.test('maxLifetimeMs 1000 under steady load for 4 s: backend pids turn over and no query fails', async (t) => {
  const database = await labelledDatabase(t, 'lifetime')
  const app = await buildApp(t, { primary: { connectionString: database.url }, poolMax: 4, maxLifetimeMs: 1000 })
  const pids = new Set<number>()
  const firstSeen = new Map<number, number>()
  let queries = 0
  let failures = 0
  const started = performance.now()
  const worker = async () => {
    while (performance.now() - started < 4000) {
      try {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.01)`.execute(app.db)
        const pid = rows[0]?.pid as number
        pids.add(pid)
        if (!firstSeen.has(pid)) firstSeen.set(pid, performance.now() - started)
        queries++
      } catch {
        failures++
      }
    }
  }
  // One transaction and one statement longer than the lifetime: a connection is retired only when idle.
  const longTransaction = app.db.transaction().execute(async (trx) => {
    const before = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid
    await sql`select pg_sleep(1.5)`.execute(trx)
    const after = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid
    return { before, after }
  })
  const longStatement = sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(2)`.execute(app.db)
  await Promise.all([worker(), worker(), worker()])
  const transaction = await longTransaction
  await longStatement
  t.comment(`${queries} queries in 4 s on ${pids.size} backends (pool of 4, lifetime 1 s)`)
  t.equal(failures, 0, 'no query failed')
  t.ok(queries > 100, `steady load (${queries} queries)`)
  t.equal(transaction.before, transaction.after, 'a transaction longer than the lifetime kept its connection')
  t.ok(pids.size >= 8, `backends turned over: ${pids.size} pids for a pool of 4`)
  t.ok([...firstSeen.values()].some((at) => at > 2500), 'new backends still appear late in the run')
})

t.test('maxLifetimeMs defaults to 600000; 0 keeps connections for good', async (t) => {
  t.equal(resolveOptions({ primary: { connectionString: 'postgres://127.0.0.1/test' } }).maxLifetimeMs, 600_000)
  const database = await labelledDatabase(t, 'lifetime_default')
  const app = await buildApp(t, { primary: { connectionString: database.url }, maxLifetimeMs: 0 })
  const pid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(app.db)).rows[0]?.pid
  const first = await pid()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(await pid(), first)
})
