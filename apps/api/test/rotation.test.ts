import { randomBytes } from 'node:crypto'
import { connectAdmin, createTestDatabase } from '@muejam/testing/database'
import { startPgbouncer } from '@muejam/testing/pgbouncer'
import pg from 'pg'
import t from 'tap'
import { buildWithStore } from './helpers/build.js'
import { startSecretsManager } from './helpers/secrets-manager.js'

async function admin (statement: string): Promise<void> {
  const client = await connectAdmin()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

t.test('a database password rotated in Secrets Manager is used for new connections without a restart, and no request fails', async (t) => {
  const database = await createTestDatabase(t, 'api_rotation')
  const role = `muejam_rotation_${randomBytes(4).toString('hex')}`
  const first = randomBytes(18).toString('base64url')
  const second = randomBytes(18).toString('base64url')
  await admin(`create role "${role}" login password '${first}'`)
  await admin(`alter database "${database.name}" owner to "${role}"`)
  t.teardown(async () => {
    await database.drop()
    await admin(`drop role if exists "${role}"`)
  })
  // pgbouncer checks every login against the role's password as PostgreSQL stores it.
  const bouncer = await startPgbouncer(t, { databaseUrl: database.url, passwordAuth: true })
  const secrets = await startSecretsManager(t, 'muejam/api', { DATABASE_URL: bouncer.url(role, first) })
  const { app, store } = await buildWithStore(t, {
    ...secrets.env,
    AWS_SECRETS_MANAGER_REFRESH_MS: '0',
    MIGRATE_ON_START: 'true',
    DB_POOL_MAX: '4',
    DB_IDLE_TIMEOUT_MS: '400'
  })
  t.equal(store.sources.DATABASE_URL, 'aws-secrets-manager')

  const statuses: number[] = []
  const state = { loading: true }
  const load = (async () => {
    while (state.loading) {
      statuses.push((await app.inject('/v1/stories')).statusCode)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 200))

  // Rotation as AWS performs it: the database first, then the secret.
  await admin(`alter role "${role}" password '${second}'`)
  const stale = new pg.Client({ connectionString: bouncer.url(role, first) })
  await t.rejects(stale.connect(), { message: /authentication failed/ }, 'the old password opens no new connection')
  await stale.end().catch(() => {})
  await new Promise((resolve) => setTimeout(resolve, 100))
  secrets.setSecret({ DATABASE_URL: bouncer.url(role, second) })
  t.same(await store.refresh(), ['DATABASE_URL'])
  await new Promise((resolve) => setTimeout(resolve, 200))
  state.loading = false
  await load

  // Every pooled connection has idled out; the next requests must open new ones.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  const fresh = await Promise.all(Array.from({ length: 4 }, () => app.inject('/v1/stories')))
  t.same(fresh.map((response) => response.statusCode), [200, 200, 200, 200], 'new connections succeed with the rotated password')
  t.ok(statuses.length > 10, `requests ran throughout the rotation (${statuses.length})`)
  t.same([...new Set(statuses)], [200], 'no request failed')
})
