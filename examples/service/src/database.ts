import type { FastifyInstance } from 'fastify'
import dbPool from '@muejam/db-pool'
import { sql, type Generated } from 'kysely'

export interface NotesDatabase {
  notes: {
    id: Generated<number>
    owner: string
    body: string
    created_at: Generated<Date>
  }
}

declare module '@muejam/db-pool' {
  interface DbPoolDatabase extends NotesDatabase {}
}

/** `app.db` and `request.db` on PostgreSQL; the service creates its tables when they are missing. */
export async function registerDatabase (app: FastifyInstance) {
  await app.register(dbPool, {
    primary: { connectionString: app.config.DATABASE_URL },
    statementTimeoutMs: 5_000,
    applicationName: 'notes'
  })
  await app.db.schema.createTable('notes').ifNotExists()
    .addColumn('id', 'integer', (column) => column.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('owner', 'text', (column) => column.notNull())
    .addColumn('body', 'text', (column) => column.notNull())
    .addColumn('created_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .execute()
  await app.db.schema.createIndex('notes_owner_id').ifNotExists().on('notes').columns(['owner', 'id']).execute()
}
