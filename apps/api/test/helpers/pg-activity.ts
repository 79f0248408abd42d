import { connectAdmin } from '@muejam/testing/database'
import type pg from 'pg'

interface Test {
  teardown(fn: () => unknown): void
}

/** The `application_name` the API gives each of its connections (src/db/options.ts). */
export const API_APPLICATION_NAME = 'muejam-api'

export interface Backend {
  pid: number
  state: string | null
  wait_event_type: string | null
  query: string
}

export interface PgActivity {
  /** The API's backends in `database` now, from `pg_stat_activity`. */
  apiBackends(): Promise<Backend[]>
  /** A connection of the test's own to `database` (not counted as the API's). */
  client: pg.Client
}

/**
 * Watches the API's backends in one test database. Filtering by database as well as
 * `application_name` keeps API processes of other test files, running at the same time on
 * the same server, out of the picture.
 */
export async function watchActivity (t: Test, databaseUrl: string): Promise<PgActivity> {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.slice(1))
  const admin = await connectAdmin()
  const client = await connectAdmin(databaseUrl)
  await client.query('set application_name = \'muejam-test\'')
  // Teardowns run in reverse: these close before the database they point at is dropped.
  t.teardown(async () => {
    await client.end().catch(() => {})
    await admin.end().catch(() => {})
  })
  return {
    client,
    apiBackends: async () => (await admin.query<Backend>(
      `select pid, state, wait_event_type, query from pg_stat_activity
       where datname = $1 and application_name = $2 and backend_type = 'client backend' order by pid`,
      [database, API_APPLICATION_NAME]
    )).rows
  }
}
