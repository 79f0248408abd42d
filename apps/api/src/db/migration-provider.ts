import type { Migration, MigrationProvider } from 'kysely'
import * as initialSchema from './migrations/20261127120000_initial_schema.js'

/**
 * Every migration, listed explicitly rather than read from a folder, so the compiled
 * server (and a `pnpm deploy` bundle) needs no file-system layout. Add new ones here.
 */
const migrations: Record<string, Migration> = {
  '20261127120000_initial_schema': initialSchema
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () {
    return migrations
  }
}
