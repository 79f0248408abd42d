import type { Env } from '@muejam/config'
import { randomBytes } from 'node:crypto'
import { connectAdmin, createTestDatabase, type TestDatabase } from '@muejam/testing/database'
import { SecretRedactor } from '@muejam/observability'
import Fastify, { type FastifyInstance } from 'fastify'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import app from '../../src/app.js'
import { loadApiConfig, type ConfigStore } from '../../src/config/index.js'
import type { Database } from '../../src/db/database.js'
import { secretValues, serverOptions } from '../../src/server-options.js'
import { TEST_AUTH_ENV } from './auth.js'

interface Test {
  teardown(fn: () => unknown): void
}

export interface BuildOptions {
  /** Collects the app's log lines (level info and up), parsed. */
  logs?: Array<Record<string, unknown>>
}

/**
 * The API as the server builds it, from the configuration `env` gives (plus quiet test
 * defaults; MIGRATE_ON_START migrates during ready()), closed at teardown. The store is
 * returned too, for tests that rotate secrets.
 */
export async function buildWithStore (t: Test, env: Env = {}, { logs }: BuildOptions = {}): Promise<{ app: FastifyInstance, store: ConfigStore }> {
  const store = await loadApiConfig({ NODE_ENV: 'test', LOG_LEVEL: logs === undefined ? 'silent' : 'info', ...TEST_AUTH_ENV, ...env })
  const secrets = new SecretRedactor(secretValues(store.config))
  const options = serverOptions(store.config, secrets)
  if (logs !== undefined && typeof options.logger === 'object') {
    options.logger = { ...options.logger, stream: { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } } }
  }
  const server = Fastify(options)
  t.teardown(async () => {
    await server.close()
    store.close()
  })
  await server.register(app, { store, secrets })
  await server.ready()
  return { app: server, store }
}

export async function build (t: Test, env: Env = {}, options: BuildOptions = {}): Promise<FastifyInstance> {
  return (await buildWithStore(t, env, options)).app
}

/** Environment for a fresh, migrated PostgreSQL database of this test's own. */
export async function databaseEnv (t: Test, label: string): Promise<Env & { DATABASE_URL: string }> {
  const database = await createTestDatabase(t, `api_${label}`)
  return { DATABASE_URL: database.url, MIGRATE_ON_START: 'true', DB_POOL_MAX: '5' }
}

/** Runs one statement as the test server's administrator (roles, ownership, passwords). */
export async function admin (statement: string): Promise<void> {
  const client = await connectAdmin()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

export interface RoleDatabase {
  database: TestDatabase
  /** A login role of its own, owner of the database. */
  role: string
  password: string
}

/**
 * A fresh, empty database owned by a login role with a random password, for connections
 * that must authenticate (pgbouncer checks the password as PostgreSQL stores it). The
 * database and the role are dropped at teardown.
 */
export async function createRoleDatabase (t: Test, label: string): Promise<RoleDatabase> {
  const database = await createTestDatabase(t, `api_${label}`)
  const role = `muejam_${label}_${randomBytes(4).toString('hex')}`
  const password = randomBytes(18).toString('base64url')
  await admin(`create role "${role}" login password '${password}'`)
  await admin(`alter database "${database.name}" owner to "${role}"`)
  t.teardown(async () => {
    await database.drop()
    await admin(`drop role if exists "${role}"`)
  })
  return { database, role, password }
}

/**
 * A Kysely of the test's own on `url`, to set up and inspect rows apart from the app
 * (whose decorators live inside its encapsulated plugin). Destroyed at teardown.
 */
export function inspectDatabase (t: Test, url: string): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  // The test database may be dropped (with force) before this pool closes.
  pool.on('error', () => {})
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  t.teardown(() => db.destroy())
  return db
}
