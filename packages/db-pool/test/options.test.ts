import { createTestDatabase } from '@muejam/testing/database'
import Fastify from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import dbPool, { muejamDbPool, type DbPoolOptions } from '../src/index.js'
import { resolveOptions } from '../src/options.js'

t.test('the named export registers as @muejam/db-pool and decorates the app it is registered in', async (t) => {
  const database = await createTestDatabase(t, 'db_pool_named')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(muejamDbPool, { primary: { connectionString: database.url } })
  t.ok(app.hasPlugin('@muejam/db-pool'))
  t.same((await sql<{ n: number }>`select 1 as n`.execute(app.db)).rows, [{ n: 1 }])
})

t.test('defaults', async (t) => {
  t.same(resolveOptions({ primary: { connectionString: 'postgres://u:p@db/app' } }), {
    primary: { connectionString: 'postgres://u:p@db/app' },
    replicas: [],
    embedded: undefined,
    poolMax: 20,
    connectTimeoutMs: 5000,
    idleTimeoutMs: 30_000,
    statementTimeoutMs: 30_000,
    replicaRetryMs: 5000,
    transactionRetries: 3,
    retryAfterSeconds: 1,
    applicationName: undefined,
    healthCheck: true,
    maxLifetimeMs: 600_000,
    breakerFailureThreshold: 5,
    breakerCoolOffMs: 5000
  })
})

t.test('bad options stop registration with MUEJAM_DB_POOL_INVALID_OPTION and never echo a URL', async (t) => {
  const primary = { connectionString: 'postgresql://user:s3cr3t@db/app' }
  const cases: Array<[RegExp, unknown]> = [
    [/exactly one of primary and embedded/, {}],
    [/exactly one of primary and embedded/, { primary, embedded: { dataDir: 'memory://' } }],
    [/"primary": must be an object/, { primary: 'postgres://db/app' }],
    [/"primary.connectionString": must be a postgres/, { primary: { connectionString: 'mysql://user:s3cr3t@db/app' } }],
    [/"primary.connectionString": must be a postgres/, { primary: { connectionString: 'not a url s3cr3t' } }],
    [/"primary.connectionString": must be a postgres/, { primary: { connectionString: 42 } }],
    [/"primary.password": must be a function/, { primary: { ...primary, password: 's3cr3t' } }],
    [/"replicas": must be an array/, { primary, replicas: primary }],
    [/replicas\[1\].connectionString/, { primary, replicas: [primary, { connectionString: 'http://x' }] }],
    [/embedded.dataDir/, { embedded: { dataDir: '' } }],
    [/embedded.dataDir/, { embedded: null }],
    [/"replicas": cannot be combined/, { embedded: { dataDir: 'memory://' }, replicas: [primary] }],
    [/"embedded.settings": must be an object of PostgreSQL settings/, { embedded: { dataDir: 'memory://', settings: 'shared_buffers=16MB' } }],
    [/"embedded.settings": must be an object/, { embedded: { dataDir: 'memory://', settings: [['shared_buffers', '16MB']] } }],
    [/"embedded.settings": must be an object/, { embedded: { dataDir: 'memory://', settings: null } }],
    [/"embedded.settings": "shared buffers" is not a PostgreSQL setting name/, { embedded: { dataDir: 'memory://', settings: { 'shared buffers': '16MB' } } }],
    [/"embedded.settings": "-c" is not a PostgreSQL setting name/, { embedded: { dataDir: 'memory://', settings: { '-c': 'x' } } }],
    [/"embedded.settings.work_mem": must be a non-empty string or a finite number/, { embedded: { dataDir: 'memory://', settings: { work_mem: '' } } }],
    [/"embedded.settings.work_mem": must be a non-empty string or a finite number/, { embedded: { dataDir: 'memory://', settings: { work_mem: Infinity } } }],
    [/"embedded.settings.work_mem": must be a non-empty string or a finite number/, { embedded: { dataDir: 'memory://', settings: { work_mem: null } } }],
    [/"embedded.settings.work_mem": must be a non-empty string or a finite number/, { embedded: { dataDir: 'memory://', settings: { work_mem: '4MB\0' } } }],
    [/"embedded.wasmTierUp": must be true or false/, { embedded: { dataDir: 'memory://', wasmTierUp: 'no' } }],
    [/"applicationName": must be a string/, { primary, applicationName: 7 }],
    [/"poolMax": must be an integer from 1 to 10000/, { primary, poolMax: 0 }],
    [/poolMax/, { primary, poolMax: 1.5 }],
    [/connectTimeoutMs/, { primary, connectTimeoutMs: 0 }],
    [/idleTimeoutMs/, { primary, idleTimeoutMs: -1 }],
    [/statementTimeoutMs/, { primary, statementTimeoutMs: '30s' }],
    [/replicaRetryMs/, { primary, replicaRetryMs: -5 }],
    [/"transactionRetries": must be an integer from 0 to 10/, { primary, transactionRetries: 11 }],
    [/retryAfterSeconds/, { primary, retryAfterSeconds: 0 }],
    [/"healthCheck": must be true or false/, { primary, healthCheck: 'yes' }],
    [/"maxLifetimeMs": must be an integer number of milliseconds from 0 to 2147483647/, { primary, maxLifetimeMs: -1 }],
    [/"maxLifetimeMs": must be an integer number of milliseconds/, { primary, maxLifetimeMs: '10m' }],
    [/"breakerFailureThreshold": must be an integer from 1 to 1000/, { primary, breakerFailureThreshold: 0 }],
    [/"breakerCoolOffMs": must be an integer number of milliseconds from 1 to 2147483647/, { primary, breakerCoolOffMs: 0 }]
  ]
  for (const [message, options] of cases) {
    const app = Fastify()
    const error = await app.register(dbPool, options as DbPoolOptions).ready().then(() => null, (e: unknown) => e as Error & { code: string })
    t.equal(error?.code, 'MUEJAM_DB_POOL_INVALID_OPTION', `${JSON.stringify(options)} is refused`)
    t.match(error?.message, message)
    t.notMatch(error?.message, /s3cr3t/)
    await app.close()
  }
})
