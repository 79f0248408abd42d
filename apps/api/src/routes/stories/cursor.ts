import { createHmac, timingSafeEqual } from 'node:crypto'
import { InvalidCursorError } from '../../errors.js'
import { UUID_PATTERN } from '../schemas.js'

/** Where a page of the feed ends: the last story's publication time and id. */
export interface FeedPosition {
  publishedAt: Date
  id: string
}

/** Where a page of the caller's own stories ends: the last story's creation time and id. */
export interface CreationPosition {
  createdAt: Date
  id: string
}

/** Where a page of a story's table of contents ends: the story and the last chapter's position. */
export interface ChapterListPosition {
  storyId: string
  position: number
}

/** Each kind of cursor is signed in a context of its own, so none passes for another. */
const FEED = 'muejam.stories.feed.v1'
const CHAPTERS = 'muejam.stories.chapters.v1'
const MY_STORIES = 'muejam.me.stories.v1'
const UUID = new RegExp(UUID_PATTERN)

function sign (key: string, context: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${context}.${payload}`).digest()
}

/** `<payload>.<hmac>`, both base64url; the HMAC (over SECRET_KEY) makes it tamper-evident. */
function encode (key: string, context: string, values: unknown[]): string {
  const payload = Buffer.from(JSON.stringify(values)).toString('base64url')
  return `${payload}.${sign(key, context, payload).toString('base64url')}`
}

/** The values a cursor of `context` holds; throws 400 `invalid_cursor` for anything altered or forged. */
function decode (key: string, context: string, cursor: string): unknown[] {
  const [payload = '', signature = ''] = cursor.split('.')
  const expected = sign(key, context, payload)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidCursorError()
  // A cursor signed with our key holds what encode wrote; the checks of the callers guard
  // against a leaked key.
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidCursorError()
  }
  return Array.isArray(decoded) ? decoded as unknown[] : []
}

export function encodeCursor (key: string, position: FeedPosition): string {
  return encode(key, FEED, [position.publishedAt.toISOString(), position.id])
}

/** The feed position a cursor stands for; throws 400 `invalid_cursor` for anything altered or forged. */
export function decodeCursor (key: string, cursor: string): FeedPosition {
  const [publishedAt, id] = decode(key, FEED, cursor)
  const date = new Date(typeof publishedAt === 'string' ? publishedAt : Number.NaN)
  if (Number.isNaN(date.getTime()) || typeof id !== 'string' || !UUID.test(id)) throw new InvalidCursorError()
  return { publishedAt: date, id }
}

export function encodeChapterCursor (key: string, position: ChapterListPosition): string {
  return encode(key, CHAPTERS, [position.storyId, position.position])
}

/**
 * The last position a cursor of `storyId`'s table of contents stands for; throws 400
 * `invalid_cursor` for anything altered or forged, and for another story's cursor.
 */
export function decodeChapterCursor (key: string, storyId: string, cursor: string): number {
  const [story, position] = decode(key, CHAPTERS, cursor)
  if (typeof story !== 'string' || story.toLowerCase() !== storyId.toLowerCase() || !Number.isSafeInteger(position) || (position as number) < 1) throw new InvalidCursorError()
  return position as number
}

/** A cursor of `userId`'s own stories; it names the user, so no one else's list accepts it. */
export function encodeMyStoriesCursor (key: string, userId: string, position: CreationPosition): string {
  return encode(key, MY_STORIES, [userId, position.createdAt.toISOString(), position.id])
}

/**
 * The position a cursor of `userId`'s own stories stands for; throws 400 `invalid_cursor` for
 * anything altered or forged, and for another user's cursor.
 */
export function decodeMyStoriesCursor (key: string, userId: string, cursor: string): CreationPosition {
  const [user, createdAt, id] = decode(key, MY_STORIES, cursor)
  const date = new Date(typeof createdAt === 'string' ? createdAt : Number.NaN)
  if (user !== userId || Number.isNaN(date.getTime()) || typeof id !== 'string' || !UUID.test(id)) throw new InvalidCursorError()
  return { createdAt: date, id }
}
