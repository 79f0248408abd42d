import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Chapter } from '../../db/tables/chapters.table.js'
import type { AuthContext } from '@muejam/auth'
import { ChapterLimitReachedError, ChapterNotFoundError, NotYourStoryError, StoryNotFoundError } from '../../errors.js'
import { isActiveModerator } from '../../moderators.js'
import { ensureProfile } from '../me/repository.js'
import { pageOf } from '../page.js'
import { bearer, IdParams, problems } from '../schemas.js'
import { trimBody } from '../trim-body.js'
import { decodeChapterCursor, decodeCursor, encodeChapterCursor, encodeCursor } from './cursor.js'
import { StoryLoader } from './story-loader.js'
import {
  appendChapter, countChapters, findChapter, findStory, insertStory, listChapterEntries, listPublished, softDeleteStory, updateStory,
  type ChapterEntryRow, type StoryRow
} from './repository.js'
import {
  Chapter as ChapterSchema, ChapterListQuery, ChapterPage, ChapterParams, CHAPTERS_PER_STORY_MAX, ListQuery, NewChapter, NewStory, Story,
  StoryPage, StoryPatch, StoryWithChapters
} from './schemas.js'

function toStory (row: StoryRow) {
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

function toChapter (chapter: Chapter) {
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

function toChapterEntry (chapter: ChapterEntryRow) {
  return {
    id: chapter.id,
    position: chapter.position,
    title: chapter.title,
    created_at: chapter.created_at.toISOString(),
    updated_at: chapter.updated_at.toISOString()
  }
}

/** Published stories are public; a draft exists only for its author. */
function isVisibleTo (story: StoryRow, request: FastifyRequest): boolean {
  return story.published_at !== null || story.author_user_id === request.auth?.userId
}

/**
 * Someone else's story: 403 when they can see it, 404 when it is a draft they must not
 * know about.
 */
function refuseWrite (story: StoryRow): Error {
  return story.published_at === null ? new StoryNotFoundError() : new NotYourStoryError()
}

/** The story routes; their contract is in docs/http-api.md. */
const storyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', trimBody)
  /** The caller's profile id, per request, for story creation. */
  const authors = new WeakMap<FastifyRequest, string>()
  const stories = new StoryLoader((signal) => app.dbPool.readerFor(signal))

  app.get('/stories', {
    schema: {
      tags: ['stories'],
      summary: 'Published stories, newest first',
      querystring: ListQuery,
      response: { 200: StoryPage, ...problems(400, 503) }
    }
  }, async (request) => {
    const { limit = 20, cursor } = request.query
    const key = app.config.SECRET_KEY
    const after = cursor === undefined ? undefined : decodeCursor(key, cursor)
    const rows = await listPublished(request.dbRead, limit, after)
    return pageOf(rows, limit, toStory, (last) => encodeCursor(key, { publishedAt: last.published_at as Date, id: last.id }))
  })

  app.post('/stories', {
    config: { auth: 'required', transaction: true },
    schema: {
      tags: ['stories'],
      summary: 'Create a story, with its first chapters, in one transaction',
      security: bearer,
      body: NewStory,
      response: { 201: StoryWithChapters, ...problems(400, 401, 409, 413, 503) }
    },
    // The caller's profile is made before, and apart from, the story's transaction: a first
    // sign-in stands even when the story is refused, and is not redone by a retry.
    preHandler: async (request) => {
      const auth = request.auth as AuthContext
      const { profile, created } = await ensureProfile(request.db, auth)
      if (created) request.server.audit({ event: 'user.first_sign_in', actor: auth.userId, target: profile.id, outcome: 'success' }, request)
      authors.set(request, profile.id)
    }
  }, async (request, reply) => {
    const db = request.db
    const { storyId, chapters } = await insertStory(db, authors.get(request) as string, request.body)
    const story = await findStory(db, storyId) as StoryRow
    reply.code(201)
    return { ...toStory(story), chapters: chapters.map(toChapter) }
  })

  app.get('/stories/:id', {
    schema: {
      tags: ['stories'],
      summary: 'A published story, or the caller\'s own draft',
      params: IdParams,
      response: { 200: Story, ...problems(400, 404, 503) }
    }
  }, async (request) => {
    const story = await stories.load(request.params.id, request.signal)
    if (story === undefined || !isVisibleTo(story, request)) throw new StoryNotFoundError()
    return toStory(story)
  })

  app.patch('/stories/:id', {
    config: { auth: 'required' },
    schema: {
      tags: ['stories'],
      summary: 'Change a story (author only)',
      security: bearer,
      params: IdParams,
      body: StoryPatch,
      response: { 200: Story, ...problems(400, 401, 403, 404, 413, 503) }
    }
  }, async (request) => {
    const db = request.db
    const story = await findStory(db, request.params.id)
    if (story === undefined) throw new StoryNotFoundError()
    if (story.author_user_id !== (request.auth as AuthContext).userId) throw refuseWrite(story)
    if (!await updateStory(db, story.id, request.body)) throw new StoryNotFoundError()
    return toStory(await findStory(db, story.id) as StoryRow)
  })

  app.delete('/stories/:id', {
    // The moderator check and the delete in one transaction: a role revoked meanwhile waits for it.
    config: { auth: 'required', transaction: true },
    schema: {
      tags: ['stories'],
      summary: 'Delete a story (author or moderator); it disappears for everyone',
      security: bearer,
      params: IdParams,
      response: { 204: { type: 'null', description: 'Deleted' }, ...problems(400, 401, 403, 404, 503) }
    }
  }, async (request, reply) => {
    const db = request.db
    const auth = request.auth as AuthContext
    const story = await findStory(db, request.params.id)
    if (story === undefined) throw new StoryNotFoundError()
    const byAuthor = story.author_user_id === auth.userId
    if (!byAuthor && !await isActiveModerator(db, auth.userId)) throw refuseWrite(story)
    if (!await softDeleteStory(db, story.id)) throw new StoryNotFoundError()
    if (!byAuthor) request.server.audit({ event: 'story.deleted_by_moderator', actor: auth.userId, target: story.id, owner: story.author_user_id, outcome: 'success' }, request)
    // Returned, not sent: the 204 leaves only once the transaction has committed.
    reply.code(204)
    return null
  })

  app.get('/stories/:id/chapters', {
    schema: {
      tags: ['stories'],
      summary: 'A story\'s table of contents: its chapters in order, without their content, a page at a time',
      params: IdParams,
      querystring: ChapterListQuery,
      response: { 200: ChapterPage, ...problems(400, 404, 503) }
    }
  }, async (request) => {
    const { limit = 50, cursor } = request.query
    const db = request.dbRead
    const story = await findStory(db, request.params.id)
    if (story === undefined || !isVisibleTo(story, request)) throw new StoryNotFoundError()
    const key = app.config.SECRET_KEY
    const after = cursor === undefined ? 0 : decodeChapterCursor(key, story.id, cursor)
    const rows = await listChapterEntries(db, story.id, limit, after)
    return pageOf(rows, limit, toChapterEntry, (last) => encodeChapterCursor(key, { storyId: story.id, position: last.position }))
  })

  app.get('/stories/:id/chapters/:position', {
    schema: {
      tags: ['stories'],
      summary: 'One chapter with its content; as visible as its story',
      params: ChapterParams,
      response: { 200: ChapterSchema, ...problems(400, 404, 503) }
    }
  }, async (request) => {
    const db = request.dbRead
    const story = await findStory(db, request.params.id)
    if (story === undefined || !isVisibleTo(story, request)) throw new StoryNotFoundError()
    const chapter = await findChapter(db, story.id, request.params.position)
    if (chapter === undefined) throw new ChapterNotFoundError()
    return toChapter(chapter)
  })

  app.post('/stories/:id/chapters', {
    config: { auth: 'required', transaction: true },
    schema: {
      tags: ['stories'],
      summary: `Append a chapter (author only); a story holds at most ${CHAPTERS_PER_STORY_MAX} chapters (409 chapter_limit_reached)`,
      security: bearer,
      params: IdParams,
      body: NewChapter,
      response: { 201: ChapterSchema, ...problems(400, 401, 403, 404, 409, 413, 503) }
    }
  }, async (request, reply) => {
    const db = request.db
    const story = await findStory(db, request.params.id, { forUpdate: true })
    if (story === undefined) throw new StoryNotFoundError()
    if (story.author_user_id !== (request.auth as AuthContext).userId) throw refuseWrite(story)
    if (await countChapters(db, story.id) >= CHAPTERS_PER_STORY_MAX) throw new ChapterLimitReachedError()
    const chapter = await appendChapter(db, story.id, request.body)
    reply.code(201)
    return toChapter(chapter)
  })
}

export default storyRoutes
