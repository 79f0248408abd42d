import type { Migration, MigrationProvider } from 'kysely'
import * as initialSchema from './migrations/20261127120000_initial_schema.js'
import * as deferrableChapterPositions from './migrations/20261201120000_deferrable_chapter_positions.js'
import * as storiesByAuthorCreated from './migrations/20261201120100_stories_by_author_created.js'

/**
 * Every migration, listed explicitly rather than read from a folder, so the compiled
 * server (and a `pnpm deploy` bundle) needs no file-system layout. Add new ones here.
 */
const migrations: Record<string, Migration> = {
  '20261127120000_initial_schema': initialSchema,
  '20261201120000_deferrable_chapter_positions': deferrableChapterPositions,
  '20261201120100_stories_by_author_created': storiesByAuthorCreated
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () {
    return migrations
  }
}
