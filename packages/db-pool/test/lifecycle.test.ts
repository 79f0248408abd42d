import { connectAdmin } from '@muejam/testing/database'
import { sql } from 'kysely'
import t from 'tap'
import { buildApp, labelledDatabase, runSql, waitFor } from './helpers/setup.js'

async function connectionsNamed (applicationName: string): Promise<number> {
  const admin = await connectAdmin()
  try {
    const { rows } = await admin.query<{ n: string }>('select count(*) as n from pg_stat_activity where application_name = $1', [applicationName])
    return Number(rows[0]?.n)
  } finally {
    await admin.end()
  }
}

t.test('closing Fastify ends every pool', async (t) => {
  const [primary, replica] = await Promise.all([labelledDatabase(t, 'primary'), labelledDatabase(t, 'replica-1')])
  const applicationName = `muejam-lifecycle-${process.pid}`
  const app = await buildApp(t, { primary: { connectionString: primary.url }, replicas: [{ connectionString: replica.url }], applicationName })
  await Promise.all([sql`select 1`.execute(app.db), sql`select 1`.execute(app.dbRead)])
  t.equal(await connectionsNamed(applicationName), 2, 'one connection per pool, named')
  await app.close()
  await waitFor(async () => await connectionsNamed(applicationName) === 0, 5000, 'the connections to close')
  t.same(app.dbPool.stats().map((s) => s.total), [0, 0])
})

t.test('idle connections close after idleTimeoutMs; an idle connection that dies is logged and replaced', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const logs: Array<Record<string, unknown>> = []
  const applicationName = `muejam-idle-${process.pid}`
  const app = await buildApp(t, { primary: { connectionString: primary.url }, idleTimeoutMs: 200, applicationName }, undefined, logs)
  await sql`select 1`.execute(app.db)
  await waitFor(() => app.dbPool.stats()[0]?.total === 0, 5000, 'the idle connection to close')

  await sql`select 1`.execute(app.db)
  await runSql(primary.url, 'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [applicationName])
  await waitFor(() => logs.length > 0, 5000, 'the failure to be logged')
  t.equal(logs[0]?.msg, 'an idle database connection failed; the pool replaces it')
  t.equal(logs[0]?.pool, 'primary')
  t.equal((await sql<{ n: number }>`select 1 as n`.execute(app.db)).rows[0]?.n, 1)
})

t.test('Kysely features the plugin does not offer fail clearly', async (t) => {
  const primary = await labelledDatabase(t, 'primary')
  const app = await buildApp(t, { primary: { connectionString: primary.url } })
  await t.rejects(app.db.selectFrom('whoami' as never).selectAll().stream().next(), /does not stream/)
  await app.db.destroy()
  t.equal((await sql<{ n: number }>`select 1 as n`.execute(app.db)).rows[0]?.n, 1, 'destroy() leaves the pools to Fastify')
  const tables = await app.db.introspection.getTables()
  t.same(tables.map((table) => table.name).sort(), ['notes', 'whoami'])
  const multi = await sql<{ n: number }>`select 1 as n; select 2 as n`.execute(app.db)
  t.same(multi.rows, [{ n: 2 }], 'a raw multi-statement query answers its last result')
  const updated = await sql`update notes set body = body`.execute(app.db)
  t.equal(updated.numAffectedRows, 0n)
})
