import { createHmac, timingSafeEqual } from 'node:crypto'
import { clientError } from '../../http-errors.js'

/** Where a page of the feed ends: the last story's publication time and id. */
export interface FeedPosition {
  publishedAt: Date
  id: string
}

const CONTEXT = 'muejam.stories.feed.v1'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function sign (key: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${CONTEXT}.${payload}`).digest()
}

/** `<payload>.<hmac>`, both base64url; the HMAC (over SECRET_KEY) makes it tamper-evident. */
export function encodeCursor (key: string, position: FeedPosition): string {
  const payload = Buffer.from(JSON.stringify([position.publishedAt.toISOString(), position.id])).toString('base64url')
  return `${payload}.${sign(key, payload).toString('base64url')}`
}

export const invalidCursor = () => clientError(400, 'invalid_cursor', 'The cursor is not one this API issued; start again without it.', {
  extensions: { errors: [{ field: 'querystring.cursor', message: 'is not a cursor this API issued' }] }
})

/** The position a cursor stands for; throws 400 `invalid_cursor` for anything altered or forged. */
export function decodeCursor (key: string, cursor: string): FeedPosition {
  const [payload = '', signature = ''] = cursor.split('.')
  const expected = sign(key, payload)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor()
  // A cursor signed with our key holds what encodeCursor wrote; the checks below guard
  // against a leaked key.
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
  const [publishedAt, id] = Array.isArray(decoded) ? decoded as unknown[] : []
  const date = new Date(typeof publishedAt === 'string' ? publishedAt : Number.NaN)
  if (Number.isNaN(date.getTime()) || typeof id !== 'string' || !UUID.test(id)) throw invalidCursor()
  return { publishedAt: date, id }
}
