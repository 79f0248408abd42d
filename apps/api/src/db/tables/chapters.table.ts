import type { Generated, Selectable } from 'kysely'

export interface ChaptersTable {
  id: Generated<string>
  story_id: string
  /** 1, 2, 3… within the story, unique, without gaps. */
  position: number
  title: string
  content: string
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type Chapter = Selectable<ChaptersTable>
