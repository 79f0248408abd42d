import { sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { buildApp } from './helpers/setup.js'
import { startOwnPostgres } from './helpers/own-postgres.js'

const ROLE = 'rotating_app'

t.test('primary.password is asked for every new connection, straight to PostgreSQL, and a rotated password is used', async (t) => {
  const server = await startOwnPostgres(t)
  await server.admin.query(`create role ${ROLE} login password 'first-password'`)
  await server.admin.query(`create database rotation owner ${ROLE}`)
  const url = (password: string) => `postgres://${ROLE}:${password}@127.0.0.1:${server.port}/rotation`

  const stale = new pg.Client({ connectionString: url('a-stale-password-in-the-url') })
  await t.rejects(stale.connect(), { code: '28P01' }, 'the server checks passwords: the one in the URL is refused')
  await stale.end().catch(() => {})

  let password = 'first-password'
  let asked = 0
  const app = await buildApp(t, {
    primary: { connectionString: url('a-stale-password-in-the-url'), password: () => { asked++; return password } },
    poolMax: 2,
    idleTimeoutMs: 60_000,
    connectTimeoutMs: 2000
  })
  const whoami = sql<{ user: string }>`select current_user as user`
  const held = await app.db.startTransaction().execute()
  try {
    t.same((await whoami.execute(held)).rows, [{ user: ROLE }], 'the function\'s password opened the first connection')
    t.equal(asked, 1)

    await server.admin.query(`alter role ${ROLE} password 'second-password'`)
    await t.rejects(whoami.execute(app.db), { name: 'DbUnavailableError', code: 'db_unavailable' }, 'a new connection with the old password is refused')
    t.equal(asked, 2, 'asked again for that connection')

    password = 'second-password'
    t.same((await whoami.execute(app.db)).rows, [{ user: ROLE }], 'the next new connection uses the rotated password')
    t.equal(asked, 3)
    t.same((await whoami.execute(held)).rows, [{ user: ROLE }], 'the connection opened before the rotation keeps working')
  } finally {
    // Also when an assertion above threw: closing the app waits for every checked-out connection.
    await held.commit().execute()
  }
  t.same(app.dbPool.stats()[0], { pool: 'primary', total: 2, idle: 2, waiting: 0 })
  await Promise.all([whoami.execute(app.db), whoami.execute(app.db)])
  t.equal(asked, 3, 'pooled connections are reused without asking')
})

t.test('an async primary.password function works the same way', async (t) => {
  const server = await startOwnPostgres(t)
  await server.admin.query(`create role ${ROLE} login password 'async-password'`)
  const app = await buildApp(t, {
    primary: { connectionString: `postgres://${ROLE}@127.0.0.1:${server.port}/postgres`, password: async () => 'async-password' }
  })
  t.same((await sql<{ user: string }>`select current_user as user`.execute(app.db)).rows, [{ user: ROLE }])
})
