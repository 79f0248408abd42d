import type { Chapter } from '../../db/tables/chapters.table.js'
import type { ChapterEntryRow, StoryRow } from './repository.js'

/** What the API shows of a story row; its ETag is computed from this. */
export function toStory (row: StoryRow) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    status: row.published_at === null ? 'draft' as const : 'published' as const,
    published_at: row.published_at === null ? null : row.published_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    author: { id: row.author_id, handle: row.author_handle, display_name: row.author_display_name }
  }
}

/** What the API shows of a chapter row; its ETag is computed from this. */
export function toChapter (chapter: Chapter) {
  return {
    id: chapter.id,
    story_id: chapter.story_id,
    position: chapter.position,
    title: chapter.title,
    content: chapter.content,
    created_at: chapter.created_at.toISOString(),
    updated_at: chapter.updated_at.toISOString()
  }
}

export function toChapterEntry (chapter: ChapterEntryRow) {
  return {
    id: chapter.id,
    position: chapter.position,
    title: chapter.title,
    created_at: chapter.created_at.toISOString(),
    updated_at: chapter.updated_at.toISOString()
  }
}
