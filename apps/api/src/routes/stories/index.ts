import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { AuthContext } from '@muejam/auth'
import { ChapterLimitReachedError, ChapterNotFoundError, NotYourStoryError, StoryNotFoundError } from '../../errors.js'
import { isActiveModerator } from '../../moderators.js'
import { absoluteUrl } from '../../public-url.js'
import { ensureProfile } from '../me/repository.js'
import { pageOf } from '../page.js'
import { answeredNotModified, requirePreconditions } from '../preconditions.js'
import { entityTag } from '../entity-tag.js'
import { bearer, ConditionalHeaders, ETAG_HEADER, IdParams, LOCATION_HEADER, notModified, problems, withHeaders } from '../schemas.js'
import { trimBody } from '../trim-body.js'
import { decodeChapterCursor, decodeCursor, encodeChapterCursor, encodeCursor } from './cursor.js'
import { toChapter, toChapterEntry, toStory } from './representation.js'
import { StoryLoader } from './story-loader.js'
import {
  appendChapter, countChapters, deleteChapter, findChapter, findStory, insertStory, listChapterEntries, listPublished, softDeleteStory,
  updateChapter, updateStory, type StoryRow
} from './repository.js'
import {
  Chapter as ChapterSchema, ChapterListQuery, ChapterPage, ChapterParams, ChapterPatch, CHAPTERS_PER_STORY_MAX, ListQuery, NewChapter,
  NewStory, Story, StoryPage, StoryPatch, StoryWithChapters
} from './schemas.js'

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

/**
 * The author's story, locked for the transaction: 404 when it is gone, 403/404 (see
 * `refuseWrite`) when it is someone else's.
 */
async function lockOwnStory (request: FastifyRequest, id: string): Promise<StoryRow> {
  const story = await findStory(request.db, id, { forUpdate: true })
  if (story === undefined) throw new StoryNotFoundError()
  if (story.author_user_id !== (request.auth as AuthContext).userId) throw refuseWrite(story)
  return story
}

/**
 * A story row's representation and its tag, made once per row: the requests a batched read
 * answers with the same row (a popular story) share them.
 */
const views = new WeakMap<StoryRow, { story: ReturnType<typeof toStory>, tag: string }>()
function viewOf (row: StoryRow) {
  let view = views.get(row)
  if (view === undefined) {
    const story = toStory(row)
    view = { story, tag: entityTag(story) }
    views.set(row, view)
  }
  return view
}

/** The story routes; their contract is in docs/http-api.md. */
const storyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', trimBody)
  /** The caller's profile id, per request, for story creation. */
  const authors = new WeakMap<FastifyRequest, string>()
  const stories = new StoryLoader((signal) => app.dbPool.readerFor(signal))
  /** The absolute URL of a path under this plugin's prefix, for `Location`. */
  const urlOf = (path: string) => absoluteUrl(app.config.PUBLIC_URL, `${app.prefix}${path}`)

  app.get('/stories', {
    schema: {
      operationId: 'listStories',
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
      operationId: 'createStory',
      tags: ['stories'],
      summary: 'Create a story, with its first chapters, in one transaction',
      security: bearer,
      body: NewStory,
      response: { 201: withHeaders(StoryWithChapters, LOCATION_HEADER, ETAG_HEADER), ...problems(400, 401, 409, 413, 503) }
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
    const story = toStory(await findStory(db, storyId) as StoryRow)
    // The tag a GET of the new story's URL answers with.
    reply.code(201).header('location', urlOf(`/stories/${story.id}`)).header('etag', entityTag(story))
    return { ...story, chapters: chapters.map(toChapter) }
  })

  app.get('/stories/:id', {
    schema: {
      operationId: 'getStory',
      tags: ['stories'],
      summary: 'A published story, or the caller\'s own draft',
      params: IdParams,
      headers: ConditionalHeaders,
      response: { 200: withHeaders(Story, ETAG_HEADER), ...notModified(), ...problems(400, 404, 412, 503) }
    }
  }, async (request, reply) => {
    const row = await stories.load(request.params.id, request.signal)
    if (row === undefined || !isVisibleTo(row, request)) throw new StoryNotFoundError()
    const { story, tag } = viewOf(row)
    if (answeredNotModified(request, reply, tag)) return reply
    return story
  })

  app.patch('/stories/:id', {
    // The If-Match check and the write under one row lock: of two editors holding the same
    // tag, the second reads the first's row and gets 412.
    config: { auth: 'required', transaction: true },
    schema: {
      operationId: 'updateStory',
      tags: ['stories'],
      summary: 'Change a story (author only); with If-Match, only if it is still as the client read it',
      security: bearer,
      params: IdParams,
      headers: ConditionalHeaders,
      body: StoryPatch,
      response: { 200: withHeaders(Story, ETAG_HEADER), ...problems(400, 401, 403, 404, 412, 413, 503) }
    }
  }, async (request, reply) => {
    const db = request.db
    const story = await lockOwnStory(request, request.params.id)
    requirePreconditions(request, toStory(story))
    await updateStory(db, story.id, request.body)
    const updated = toStory(await findStory(db, story.id) as StoryRow)
    reply.header('etag', entityTag(updated))
    return updated
  })

  app.delete('/stories/:id', {
    // The moderator check, the If-Match check and the delete in one transaction, under the
    // row lock: a role revoked meanwhile waits for it, and so does a concurrent edit.
    config: { auth: 'required', transaction: true },
    schema: {
      operationId: 'deleteStory',
      tags: ['stories'],
      summary: 'Delete a story (author or moderator); it disappears for everyone',
      security: bearer,
      params: IdParams,
      headers: ConditionalHeaders,
      response: { 204: { type: 'null', description: 'Deleted' }, ...problems(400, 401, 403, 404, 412, 503) }
    }
  }, async (request, reply) => {
    const db = request.db
    const auth = request.auth as AuthContext
    const story = await findStory(db, request.params.id, { forUpdate: true })
    if (story === undefined) throw new StoryNotFoundError()
    const byAuthor = story.author_user_id === auth.userId
    if (!byAuthor && !await isActiveModerator(db, auth.userId)) throw refuseWrite(story)
    requirePreconditions(request, toStory(story))
    if (!await softDeleteStory(db, story.id)) throw new StoryNotFoundError()
    if (!byAuthor) request.server.audit({ event: 'story.deleted_by_moderator', actor: auth.userId, target: story.id, owner: story.author_user_id, outcome: 'success' }, request)
    // Returned, not sent: the 204 leaves only once the transaction has committed.
    reply.code(204)
    return null
  })

  app.get('/stories/:id/chapters', {
    schema: {
      operationId: 'listChapters',
      tags: ['stories'],
      summary: 'A story\'s table of contents: its chapters in order, without their content, a page at a time',
      params: IdParams,
      querystring: ChapterListQuery,
      headers: ConditionalHeaders,
      response: { 200: withHeaders(ChapterPage, ETAG_HEADER), ...notModified(), ...problems(400, 404, 412, 503) }
    }
  }, async (request, reply) => {
    const { limit = 50, cursor } = request.query
    const db = request.dbRead
    const story = await findStory(db, request.params.id)
    if (story === undefined || !isVisibleTo(story, request)) throw new StoryNotFoundError()
    const key = app.config.SECRET_KEY
    const after = cursor === undefined ? 0 : decodeChapterCursor(key, story.id, cursor)
    const rows = await listChapterEntries(db, story.id, limit, after)
    const page = pageOf(rows, limit, toChapterEntry, (last) => encodeChapterCursor(key, { storyId: story.id, position: last.position }))
    if (answeredNotModified(request, reply, entityTag(page))) return reply
    return page
  })

  app.get('/stories/:id/chapters/:position', {
    schema: {
      operationId: 'getChapter',
      tags: ['stories'],
      summary: 'One chapter with its content; as visible as its story',
      params: ChapterParams,
      headers: ConditionalHeaders,
      response: { 200: withHeaders(ChapterSchema, ETAG_HEADER), ...notModified(), ...problems(400, 404, 412, 503) }
    }
  }, async (request, reply) => {
    const db = request.dbRead
    const story = await findStory(db, request.params.id)
    if (story === undefined || !isVisibleTo(story, request)) throw new StoryNotFoundError()
    const row = await findChapter(db, story.id, request.params.position)
    if (row === undefined) throw new ChapterNotFoundError()
    const chapter = toChapter(row)
    if (answeredNotModified(request, reply, entityTag(chapter))) return reply
    return chapter
  })

  app.post('/stories/:id/chapters', {
    config: { auth: 'required', transaction: true },
    schema: {
      operationId: 'appendChapter',
      tags: ['stories'],
      summary: `Append a chapter (author only); a story holds at most ${CHAPTERS_PER_STORY_MAX} chapters (409 chapter_limit_reached)`,
      security: bearer,
      params: IdParams,
      body: NewChapter,
      response: { 201: withHeaders(ChapterSchema, LOCATION_HEADER, ETAG_HEADER), ...problems(400, 401, 403, 404, 409, 413, 503) }
    }
  }, async (request, reply) => {
    const story = await lockOwnStory(request, request.params.id)
    if (await countChapters(request.db, story.id) >= CHAPTERS_PER_STORY_MAX) throw new ChapterLimitReachedError()
    const chapter = toChapter(await appendChapter(request.db, story.id, request.body))
    reply.code(201).header('location', urlOf(`/stories/${story.id}/chapters/${chapter.position}`)).header('etag', entityTag(chapter))
    return chapter
  })

  app.patch('/stories/:id/chapters/:position', {
    // Under the story's row lock, like appends and deletes: no chapter write interleaves.
    config: { auth: 'required', transaction: true },
    schema: {
      operationId: 'updateChapter',
      tags: ['stories'],
      summary: 'Change a chapter\'s title and/or content (author only); with If-Match, only if it is still as the client read it',
      security: bearer,
      params: ChapterParams,
      headers: ConditionalHeaders,
      body: ChapterPatch,
      response: { 200: withHeaders(ChapterSchema, ETAG_HEADER), ...problems(400, 401, 403, 404, 412, 413, 503) }
    }
  }, async (request, reply) => {
    const story = await lockOwnStory(request, request.params.id)
    const chapter = await findChapter(request.db, story.id, request.params.position)
    if (chapter === undefined) throw new ChapterNotFoundError()
    requirePreconditions(request, toChapter(chapter))
    const updated = toChapter(await updateChapter(request.db, chapter, request.body))
    reply.header('etag', entityTag(updated))
    return updated
  })

  app.delete('/stories/:id/chapters/:position', {
    config: { auth: 'required', transaction: true },
    schema: {
      operationId: 'deleteChapter',
      tags: ['stories'],
      summary: 'Remove a chapter (author only); the later chapters move up one position',
      security: bearer,
      params: ChapterParams,
      headers: ConditionalHeaders,
      response: { 204: { type: 'null', description: 'Deleted; the later chapters moved up one position' }, ...problems(400, 401, 403, 404, 412, 503) }
    }
  }, async (request, reply) => {
    const story = await lockOwnStory(request, request.params.id)
    const chapter = await findChapter(request.db, story.id, request.params.position)
    if (chapter === undefined) throw new ChapterNotFoundError()
    requirePreconditions(request, toChapter(chapter))
    await deleteChapter(request.db, chapter)
    // Returned, not sent: the 204 leaves only once the transaction has committed.
    reply.code(204)
    return null
  })
}

export default storyRoutes
