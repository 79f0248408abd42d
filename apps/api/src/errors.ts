import { createProblemError } from '@muejam/problem'
import { CHAPTERS_PER_STORY_MAX } from './routes/stories/schemas.js'

/** The API's own client errors; the problem renderer turns each into application/problem+json. */

export const StoryNotFoundError = createProblemError({
  code: 'story_not_found',
  statusCode: 404,
  message: () => 'There is no such story.'
})

export const NotYourStoryError = createProblemError({
  code: 'forbidden',
  statusCode: 403,
  message: () => 'Only the author may change this story.',
  name: 'NotYourStoryError'
})

export const ChapterNotFoundError = createProblemError({
  code: 'chapter_not_found',
  statusCode: 404,
  message: () => 'The story has no chapter at this position.'
})

export const ChapterLimitReachedError = createProblemError({
  code: 'chapter_limit_reached',
  statusCode: 409,
  message: () => `A story holds at most ${CHAPTERS_PER_STORY_MAX.toLocaleString('en')} chapters.`
})

export const InvalidCursorError = createProblemError({
  code: 'invalid_cursor',
  statusCode: 400,
  message: () => 'The cursor is not one this API issued; start again without it.',
  extensions: () => ({ errors: [{ field: 'querystring.cursor', message: 'is not a cursor this API issued' }] })
})

export const BodyTooDeepError = createProblemError({
  code: 'body_too_deep',
  statusCode: 400,
  message: (limit: number) => `The JSON body nests deeper than ${limit} levels.`
})

export const HostMissingError = createProblemError({
  code: 'bad_request',
  statusCode: 400,
  message: () => 'An HTTP/1.1 request needs a Host header.',
  name: 'HostMissingError'
})

export const PreconditionFailedError = createProblemError({
  code: 'precondition_failed',
  statusCode: 412,
  message: () => 'The resource has changed since the entity tag of If-Match (or it matches If-None-Match); read it again and retry with its new ETag.'
})

export const MethodNotAllowedError = createProblemError({
  code: 'method_not_allowed',
  statusCode: 405,
  message: (method: string, allowed: readonly string[]) => `${method} is not allowed here; allowed: ${allowed.join(', ')}.`,
  headers: (_method: string, allowed: readonly string[]) => ({ allow: allowed.join(', ') })
})

/** The body @muejam/problem's own not-found handler writes, for the API's handler that also answers 405. */
export const RouteNotFoundError = createProblemError({
  code: 'route_not_found',
  statusCode: 404,
  message: (method: string, path: string) => `No route for ${method} ${path}`
})
