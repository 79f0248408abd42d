import { randomBytes } from 'node:crypto'
import { startFakeSecretsManager } from '@muejam/testing/aws-secrets-manager'
import { startPgbouncer } from '@muejam/testing/pgbouncer'
import pg from 'pg'
import t from 'tap'
import { admin, buildWithStore, createRoleDatabase, databaseEnv } from './helpers/build.js'

t.test('a database password rotated in Secrets Manager is used for new connections without a restart, and no request fails', async (t) => {
  const { database, role, password: first } = await createRoleDatabase(t, 'rotation')
  const second = randomBytes(18).toString('base64url')
  // pgbouncer checks every login against the role's password as PostgreSQL stores it.
  const bouncer = await startPgbouncer(t, { databaseUrl: database.url, passwordAuth: true })
  const secrets = await startFakeSecretsManager(t, 'muejam/api', { DATABASE_URL: bouncer.url(role, first) })
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

t.test('a METRICS_TOKEN rotated in Secrets Manager is required from the next scrape on: the new token accepted, the old refused, no restart', async (t) => {
  const first = randomBytes(32).toString('base64url')
  const second = randomBytes(32).toString('base64url')
  const secrets = await startFakeSecretsManager(t, 'muejam/api', { METRICS_TOKEN: first })
  const { app, store } = await buildWithStore(t, { ...await databaseEnv(t, 'metrics_rotation'), ...secrets.env, AWS_SECRETS_MANAGER_REFRESH_MS: '0' })
  t.equal(store.sources.METRICS_TOKEN, 'aws-secrets-manager')
  const scrape = (token: string) => app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })

  t.equal((await scrape(first)).statusCode, 200)
  t.equal((await scrape(second)).statusCode, 401)

  secrets.setSecret({ METRICS_TOKEN: second })
  t.same(await store.refresh(), ['METRICS_TOKEN'])
  const old = await scrape(first)
  t.equal(old.statusCode, 401, 'the old token is refused')
  t.match(old.json(), { code: 'unauthenticated' })
  t.equal(old.headers['www-authenticate'], 'Bearer realm="metrics", error="invalid_token"')
  t.equal((await scrape(second)).statusCode, 200, 'the new token is accepted')
})
