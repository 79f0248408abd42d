import type { Generated, Selectable } from 'kysely'

/** A signed-in user, created on first sign-in from the Clerk user id. */
export interface UserProfilesTable {
  id: Generated<string>
  /** Clerk's `sub` (`user_…`). */
  clerk_user_id: string
  /** Public, unique, `[a-z0-9_]{3,40}`; never derived from the Clerk id's prefix. */
  handle: string
  display_name: string
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type UserProfile = Selectable<UserProfilesTable>
