import { Type } from 'typebox'
import { IdParams, Nullable, StringEnum, Text, Timestamp, Uuid } from '../schemas.js'

export const TITLE_MAX = 200
export const DESCRIPTION_MAX = 5000
export const CONTENT_MAX = 200_000
export const CHAPTERS_PER_CREATE_MAX = 100
/** Bounds what one story costs to store and to list; appends past it get 409 `chapter_limit_reached`. */
export const CHAPTERS_PER_STORY_MAX = 1000

const Title = Text(1, TITLE_MAX, 'Trimmed; 1–200 characters.')
const Description = Text(0, DESCRIPTION_MAX, 'Trimmed; at most 5 000 characters; empty clears it.')
const Content = Text(1, CONTENT_MAX, 'Trimmed; 1–200 000 characters.')

export const Author = Type.Object({
  id: Uuid,
  handle: Type.String(),
  display_name: Type.String()
}, { additionalProperties: false })

export const Story = Type.Object({
  id: Uuid,
  title: Type.String(),
  description: Nullable(Type.String()),
  status: StringEnum(['draft', 'published']),
  published_at: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
  author: Author
}, { additionalProperties: false })

export const Chapter = Type.Object({
  id: Uuid,
  story_id: Uuid,
  position: Type.Integer({ minimum: 1 }),
  title: Type.String(),
  content: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { additionalProperties: false })

/** A table-of-contents entry: a chapter without its content. */
export const ChapterEntry = Type.Object({
  id: Uuid,
  position: Type.Integer({ minimum: 1 }),
  title: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { additionalProperties: false })

export const StoryWithChapters = Type.Object({
  ...Story.properties,
  chapters: Type.Array(Chapter)
}, { additionalProperties: false })

const NextCursor = Nullable(Type.String(), { description: 'Pass as `cursor` for the next page; null on the last page.' })

export const StoryPage = Type.Object({
  items: Type.Array(Story),
  next_cursor: NextCursor
}, { additionalProperties: false })

export const ChapterPage = Type.Object({
  items: Type.Array(ChapterEntry),
  next_cursor: NextCursor
}, { additionalProperties: false })

const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$', description: 'The `next_cursor` of the previous page.' })

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Cursor)
}, { additionalProperties: false })

export const ChapterListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Cursor)
}, { additionalProperties: false })

export const ChapterParams = Type.Object({
  ...IdParams.properties,
  position: Type.Integer({ minimum: 1, maximum: CHAPTERS_PER_STORY_MAX, description: 'The chapter\'s position in the story, from 1.' })
}, { additionalProperties: false })

export const NewChapter = Type.Object({
  title: Title,
  content: Content
}, { additionalProperties: false })

export const NewStory = Type.Object({
  title: Title,
  description: Type.Optional(Description),
  chapters: Type.Optional(Type.Array(NewChapter, { maxItems: CHAPTERS_PER_CREATE_MAX })),
  publish: Type.Optional(Type.Boolean({ description: 'Publish at once (default: a draft).' }))
}, { additionalProperties: false })

export const StoryPatch = Type.Object({
  title: Type.Optional(Title),
  description: Type.Optional(Type.Union([Description, Type.Null()])),
  publish: Type.Optional(Type.Boolean({ description: 'true publishes (keeping the first publication time), false returns to draft.' }))
}, { additionalProperties: false, minProperties: 1 })

export const ChapterPatch = Type.Object({
  title: Type.Optional(Title),
  content: Type.Optional(Content)
}, { additionalProperties: false, minProperties: 1 })
