import type { FastifyBaseLogger } from 'fastify'
import { Migrator, type Kysely, type MigrationResult } from 'kysely'
import type { Database } from './database.js'
import { migrationProvider } from './migration-provider.js'

/**
 * Applies every pending migration in one transaction, under Kysely's advisory lock, so
 * several instances starting together migrate once. Throws when one fails.
 */
export async function migrateToLatest (db: Kysely<Database>, log?: FastifyBaseLogger): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results = [] } = await migrator.migrateToLatest()
  for (const { migrationName, status } of results) log?.info({ migration: migrationName, status }, 'migration')
  if (error !== undefined) throw new Error('database migration failed', { cause: error })
  return results
}
