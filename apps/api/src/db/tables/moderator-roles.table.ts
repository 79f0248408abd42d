import type { Generated, Selectable } from 'kysely'

export interface ModeratorRolesTable {
  id: Generated<string>
  user_id: string
  /** `moderator` or `admin`. */
  role: string
  is_active: Generated<boolean>
  created_at: Generated<Date>
}

export type ModeratorRole = Selectable<ModeratorRolesTable>
