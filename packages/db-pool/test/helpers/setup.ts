import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connectAdmin, createTestDatabase, type TestDatabase } from '@muejam/testing/database'
import Fastify, { type FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import dbPool, { type DbPoolOptions } from '../../src/index.js'

interface Test {
  teardown(fn: () => unknown): void
}

/**
 * A Fastify app with the plugin and the routes `routes` adds; closed at teardown. Log
 * lines at warn and above are parsed into `logs` when it is given.
 */
export async function buildApp (t: Test, options: DbPoolOptions, routes?: (app: FastifyInstance) => void | Promise<void>, logs?: Array<Record<string, unknown>>): Promise<FastifyInstance> {
  const logger = logs === undefined
    ? false
    : { level: 'warn', stream: { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } } }
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  await app.register(dbPool, options)
  await routes?.(app)
  await app.ready()
  return app
}

/** Runs statements on a database with a client of its own (set-up and inspection). */
export async function runSql<R extends pg.QueryResultRow = Record<string, unknown>> (url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

/**
 * A fresh database whose `whoami` table holds `name`, so a test can tell which database
 * answered a read, and which has a `notes` table for writes.
 */
export async function labelledDatabase (t: Test, name: string): Promise<TestDatabase> {
  const database = await createTestDatabase(t, `db_pool_${name}`)
  await runSql(database.url, 'create table whoami (name text not null); create table notes (id serial primary key, body text not null unique)')
  await runSql(database.url, 'insert into whoami (name) values ($1)', [name])
  return database
}

/** Backends of `database` running a statement that contains `marker`. */
export async function activeQueries (database: string, marker: string): Promise<Array<{ pid: number, state: string }>> {
  const admin = await connectAdmin()
  try {
    const { rows } = await admin.query<{ pid: number, state: string }>(
      "select pid, state from pg_stat_activity where datname = $1 and query like '%' || $2 || '%' and state = 'active' and pid <> pg_backend_pid()",
      [database, marker]
    )
    return rows
  } finally {
    await admin.end()
  }
}

/** Polls `probe` until it returns true, failing after `timeoutMs`. */
export async function waitFor (probe: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/**
 * Adds GET /sleep: a 30 s query tagged with `marker`, for a test to cancel. The error that
 * stops it goes to `onError`.
 */
export function addSleepRoute (app: FastifyInstance, marker: string, onError: (error: { code?: string }) => void): void {
  app.get('/sleep', async (request) => {
    try {
      await sql`select pg_sleep(30) as ${sql.raw(marker)}`.execute(request.db)
      return { finished: true }
    } catch (error) {
      onError(error as { code?: string })
      throw error
    }
  })
}

/**
 * Starts a GET of `path` on a real socket (listening on a free port first if the app is
 * not yet), so the client can go away; returns a function that drops the connection.
 */
export async function startRequest (app: FastifyInstance, path: string): Promise<() => void> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const request = httpRequest({ host: '127.0.0.1', port, path })
  request.on('error', () => {})
  request.end()
  return () => request.destroy()
}

/** A port nothing listens on: connections are refused at once. */
export const CLOSED_PORT_URL = 'postgres://postgres@127.0.0.1:1/nothing'
