import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

const START_HINT = 'Start PostgreSQL with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
  '(or point TEST_DATABASE_URL at a server where the user may CREATE DATABASE).'

/** Opens a client on TEST_DATABASE_URL, failing with a message that says how to start PostgreSQL. */
export async function connectAdmin (url = TEST_DATABASE_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${new URL(url).host}: ${(error as Error).message}. ${START_HINT}`)
  }
  return client
}

export function databaseUrl (name: string, base = TEST_DATABASE_URL): string {
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.href
}

export interface TestDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

interface Teardown { teardown(fn: () => unknown): void }

/**
 * Creates an empty database of its own for one test file, so files run in parallel, and
 * drops it (disconnecting leftovers) at teardown.
 */
export async function createTestDatabase (t: Teardown, label = 'test'): Promise<TestDatabase> {
  const name = `muejam_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`
  const admin = await connectAdmin()
  try {
    await admin.query(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const drop = async () => {
    const client = await connectAdmin()
    try {
      await client.query(`drop database if exists "${name}" with (force)`)
    } finally {
      await client.end()
    }
  }
  t.teardown(drop)
  return { name, url: databaseUrl(name), drop }
}
