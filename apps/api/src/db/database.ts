import type { ChaptersTable } from './tables/chapters.table.js'
import type { ModeratorRolesTable } from './tables/moderator-roles.table.js'
import type { StoriesTable } from './tables/stories.table.js'
import type { UserProfilesTable } from './tables/user-profiles.table.js'

/** Every table of the API, as Kysely sees it. */
export interface Database {
  user_profiles: UserProfilesTable
  stories: StoriesTable
  chapters: ChaptersTable
  moderator_roles: ModeratorRolesTable
}

declare module '@muejam/db-pool' {
  interface DbPoolDatabase extends Database {}
}
