import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { Chapter } from '../../db/tables/chapters.table.js'
import type { CreationPosition, FeedPosition } from './cursor.js'

/** A story with what the API shows of its author, and the author's Clerk id for ownership checks. */
export interface StoryRow {
  id: string
  title: string
  description: string | null
  published_at: Date | null
  created_at: Date
  updated_at: Date
  author_id: string
  author_handle: string
  author_display_name: string
  author_user_id: string
}

function storiesWithAuthors (db: Kysely<Database>) {
  return db.selectFrom('stories as s')
    .innerJoin('user_profiles as p', 'p.id', 's.author_id')
    .select([
      's.id', 's.title', 's.description', 's.published_at', 's.created_at', 's.updated_at', 's.author_id',
      'p.handle as author_handle', 'p.display_name as author_display_name', 'p.clerk_user_id as author_user_id'
    ])
}

/** Published, not deleted, newest first; `limit + 1` rows so the caller knows whether more follow. */
export function listPublished (db: Kysely<Database>, limit: number, after: FeedPosition | undefined): Promise<StoryRow[]> {
  let query = storiesWithAuthors(db)
    .where('s.published_at', 'is not', null)
    .where('s.deleted_at', 'is', null)
  if (after !== undefined) {
    query = query.where((eb) => eb(eb.refTuple('s.published_at', 's.id'), '<', eb.tuple(after.publishedAt, after.id)))
  }
  return query.orderBy('s.published_at', 'desc').orderBy('s.id', 'desc').limit(limit + 1).execute() as Promise<StoryRow[]>
}

/**
 * The stories of the user `clerkUserId`, drafts included, not deleted, newest created first
 * (creation times never change, so a page boundary never moves); `limit + 1` rows so the
 * caller knows whether more follow.
 */
export function listByAuthor (db: Kysely<Database>, clerkUserId: string, limit: number, after: CreationPosition | undefined): Promise<StoryRow[]> {
  let query = storiesWithAuthors(db)
    .where('p.clerk_user_id', '=', clerkUserId)
    .where('s.deleted_at', 'is', null)
  if (after !== undefined) {
    query = query.where((eb) => eb(eb.refTuple('s.created_at', 's.id'), '<', eb.tuple(after.createdAt, after.id)))
  }
  return query.orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(limit + 1).execute() as Promise<StoryRow[]>
}

/** The stories among `ids` that are not deleted, whoever may see them: one query for a batch. */
export function findStories (db: Kysely<Database>, ids: readonly string[]): Promise<StoryRow[]> {
  return storiesWithAuthors(db)
    .where(sql<boolean>`s.id = any(${ids}::uuid[])`)
    .where('s.deleted_at', 'is', null)
    .execute() as Promise<StoryRow[]>
}

/** A story that is not deleted, whoever may see it; `forUpdate` locks it for the transaction. */
export function findStory (db: Kysely<Database>, id: string, { forUpdate = false } = {}): Promise<StoryRow | undefined> {
  let query = storiesWithAuthors(db).where('s.id', '=', id).where('s.deleted_at', 'is', null)
  if (forUpdate) query = query.forUpdate('s')
  return query.executeTakeFirst()
}

export interface NewStoryInput {
  title: string
  description?: string | undefined
  publish?: boolean | undefined
  chapters?: Array<{ title: string, content: string }> | undefined
}

/** Inserts a story and its chapters (positions 1…n); run it inside a transaction. */
export async function insertStory (db: Kysely<Database>, authorId: string, input: NewStoryInput): Promise<{ storyId: string, chapters: Chapter[] }> {
  const story = await db.insertInto('stories')
    .values({
      author_id: authorId,
      title: input.title,
      description: input.description === undefined || input.description === '' ? null : input.description,
      published_at: input.publish === true ? sql<Date>`now()` : null
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  const chapters = input.chapters ?? []
  const inserted = chapters.length === 0
    ? []
    : await db.insertInto('chapters')
      .values(chapters.map((chapter, index) => ({ story_id: story.id, position: index + 1, title: chapter.title, content: chapter.content })))
      .returningAll()
      .execute()
  return { storyId: story.id, chapters: inserted.sort((a, b) => a.position - b.position) }
}

export interface StoryChanges {
  title?: string | undefined
  description?: string | null | undefined
  publish?: boolean | undefined
}

/** Applies a PATCH; false when the story is gone (deleted meanwhile). */
export async function updateStory (db: Kysely<Database>, id: string, changes: StoryChanges): Promise<boolean> {
  const result = await db.updateTable('stories')
    .set((eb) => ({
      updated_at: sql<Date>`now()`,
      ...(changes.title === undefined ? {} : { title: changes.title }),
      ...(changes.description === undefined ? {} : { description: changes.description === '' ? null : changes.description }),
      ...(changes.publish === undefined
        ? {}
        : { published_at: changes.publish ? eb.fn.coalesce('published_at', sql<Date>`now()`) : null })
    }))
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows === 1n
}

/** Soft delete; false when it was already gone. */
export async function softDeleteStory (db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.updateTable('stories')
    .set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows === 1n
}

export type ChapterEntryRow = Pick<Chapter, 'id' | 'position' | 'title' | 'created_at' | 'updated_at'>

/** A story's chapters after position `after`, in order, without content; `limit + 1` rows so the caller knows whether more follow. */
export function listChapterEntries (db: Kysely<Database>, storyId: string, limit: number, after = 0): Promise<ChapterEntryRow[]> {
  return db.selectFrom('chapters')
    .select(['id', 'position', 'title', 'created_at', 'updated_at'])
    .where('story_id', '=', storyId)
    .where('position', '>', after)
    .orderBy('position')
    .limit(limit + 1)
    .execute()
}

export function findChapter (db: Kysely<Database>, storyId: string, position: number): Promise<Chapter | undefined> {
  return db.selectFrom('chapters').selectAll().where('story_id', '=', storyId).where('position', '=', position).executeTakeFirst()
}

export async function countChapters (db: Kysely<Database>, storyId: string): Promise<number> {
  const row = await db.selectFrom('chapters').select((eb) => eb.fn.countAll<string>().as('n')).where('story_id', '=', storyId).executeTakeFirstOrThrow()
  return Number(row.n)
}

/**
 * Appends a chapter at the next position. The caller holds the story's row lock
 * (`findStory(…, { forUpdate: true })` in the same transaction), so concurrent appends to
 * one story queue up and get 1, 2, 3… with no gap or duplicate, and a count taken under the
 * lock stays true until the insert.
 */
export async function appendChapter (db: Kysely<Database>, storyId: string, chapter: { title: string, content: string }): Promise<Chapter> {
  const inserted = await db.insertInto('chapters')
    .columns(['story_id', 'position', 'title', 'content'])
    .expression((eb) => eb.selectFrom('chapters')
      .select([
        sql<string>`cast(${storyId} as uuid)`.as('story_id'),
        sql<number>`coalesce(max(position), 0) + 1`.as('position'),
        eb.val(chapter.title).as('title'),
        eb.val(chapter.content).as('content')
      ])
      .where('story_id', '=', storyId))
    .returningAll()
    .executeTakeFirstOrThrow()
  await touchStory(db, storyId)
  return inserted
}

/** A chapter written, moved or removed changes its story. */
async function touchStory (db: Kysely<Database>, storyId: string): Promise<void> {
  await db.updateTable('stories').set({ updated_at: sql<Date>`now()` }).where('id', '=', storyId).execute()
}

export interface ChapterChanges {
  title?: string | undefined
  content?: string | undefined
}

/** Applies a chapter PATCH; the caller holds the story's row lock and has found the chapter. */
export async function updateChapter (db: Kysely<Database>, chapter: Chapter, changes: ChapterChanges): Promise<Chapter> {
  const updated = await db.updateTable('chapters')
    .set({
      updated_at: sql<Date>`now()`,
      ...(changes.title === undefined ? {} : { title: changes.title }),
      ...(changes.content === undefined ? {} : { content: changes.content })
    })
    .where('id', '=', chapter.id)
    .returningAll()
    .executeTakeFirstOrThrow()
  await touchStory(db, chapter.story_id)
  return updated
}

/**
 * Removes a chapter and moves every later one up a position, so positions stay 1…n. The
 * caller holds the story's row lock, so no other write to the story's chapters interleaves.
 * The shift is one statement: the (story_id, position) constraint is deferrable, so it is
 * checked once the statement is done, not row by row while positions pass each other.
 */
export async function deleteChapter (db: Kysely<Database>, chapter: Chapter): Promise<void> {
  await db.deleteFrom('chapters').where('id', '=', chapter.id).execute()
  await db.updateTable('chapters')
    .set((eb) => ({ position: eb('position', '-', 1) }))
    .where('story_id', '=', chapter.story_id)
    .where('position', '>', chapter.position)
    .execute()
  await touchStory(db, chapter.story_id)
}
