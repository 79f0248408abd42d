import type { Generated, Selectable } from 'kysely'

export interface StoriesTable {
  id: Generated<string>
  author_id: string
  title: string
  description: string | null
  /** null while the story is a draft. Millisecond precision, so pagination cursors are exact. */
  published_at: Date | null
  created_at: Generated<Date>
  updated_at: Generated<Date>
  /** Soft delete: a deleted story is gone for every reader. */
  deleted_at: Date | null
}

export type Story = Selectable<StoriesTable>
