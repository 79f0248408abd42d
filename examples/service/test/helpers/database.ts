import { randomBytes } from 'node:crypto'
import pg from 'pg'

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

async function asAdmin (statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

export interface Database {
  url: string
  /** Runs a query on the database as an observer (not through the service). */
  query<Row extends pg.QueryResultRow> (text: string, values?: unknown[]): Promise<Row[]>
  drop (): Promise<void>
}

/** A new, empty database of its own, dropped (connections and all) by `drop`. */
export async function createDatabase (): Promise<Database> {
  const name = `notes_example_${randomBytes(4).toString('hex')}`
  await asAdmin(`create database "${name}"`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const observer = new pg.Pool({ connectionString: url.href, max: 1 })
  return {
    url: url.href,
    query: async (text, values) => (await observer.query(text, values)).rows,
    drop: async () => {
      await observer.end()
      await asAdmin(`drop database if exists "${name}" with (force)`)
    }
  }
}
