/*
 * The error answers every route can give whatever its handler does, derived from the route's
 * settings (authentication, rate limit, body, deadline) rather than written in each route:
 * a plugin that adds a refusal changes it here, once.
 */

export type AuthMode = 'optional' | 'required'

/** What a route's options say about the refusals the API's plugins may answer it with. */
export interface RouteSettings {
  /** `config.auth`: the mode, `false` for no authentication, undefined for the default. */
  auth: AuthMode | false | undefined
  /** Whether `config.rateLimit` is other than `false`. */
  rateLimited: boolean
  /** Whether `config.timeout` is other than `false`. */
  deadline: boolean
  /** Whether the route reads a request body. */
  body: boolean
}

/** Why each status is answered, for the document's response descriptions. */
export const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or invalid; `code` says which rule (validation_failed with `errors`, malformed_json, body_too_deep, invalid_cursor, invalid_input, bad_request).',
  401: 'No token on a route that requires one (unauthenticated), or a token that was sent and refused (`code` gives the reason, `claim` the claim). `WWW-Authenticate` carries the challenge.',
  403: 'Someone else\'s story (forbidden).',
  404: 'No such resource, or one the caller may not see (story_not_found, chapter_not_found).',
  405: 'The path exists, but not with this method; `Allow` lists those it has.',
  409: 'The write conflicts with the data (conflict, chapter_limit_reached); nothing was written.',
  412: 'The `If-Match` tag is not the current one (precondition_failed); nothing was changed.',
  413: 'The body is larger than BODY_LIMIT_BYTES (body_too_large).',
  415: 'The body is not `application/json` (unsupported_media_type).',
  429: 'The rate-limit budget is spent (rate_limited); `Retry-After` says when a slot comes back.',
  500: 'A defect (internal_error); `request_id` finds it in the logs.',
  503: 'Unavailable for now (db_unavailable, auth_keys_unavailable, rate_limit_unavailable, overloaded); `Retry-After` says when to try again.',
  504: 'The request outlived REQUEST_TIMEOUT_MS (request_timeout); its database work was cancelled.'
}

/** The headers that go with a status, whichever route answers it: names in `components.headers`. */
export const PROBLEM_HEADERS: Record<number, readonly string[]> = {
  401: ['WWW-Authenticate'],
  405: ['Allow'],
  429: ['Retry-After'],
  503: ['Retry-After']
}

/** The statuses the API's plugins may answer a route with, besides those its handler declares. */
export function commonProblemStatuses (route: RouteSettings): number[] {
  const statuses = [
    // Validation, malformed JSON, a missing Host: any route.
    400,
    500,
    // A database that does not answer, or a process that sheds load.
    503
  ]
  // An optional route still refuses a token that fails: a client that sends one means to be known.
  if (route.auth !== false) statuses.push(401)
  if (route.body) statuses.push(413, 415)
  if (route.rateLimited) statuses.push(429)
  if (route.deadline) statuses.push(504)
  return statuses.sort((a, b) => a - b)
}

/** The document's `security` for a route: optional authentication is "no credentials, or a bearer token". */
export function securityOf (auth: AuthMode | false): Array<Record<string, string[]>> {
  if (auth === false) return []
  return auth === 'required' ? [{ bearer: [] }] : [{}, { bearer: [] }]
}
