import { STATUS_CODES } from 'node:http'
import type { RouteOptions } from 'fastify'
import { Problem } from '../routes/schemas.js'
import { type AuthMode, commonProblemStatuses, PROBLEM_DESCRIPTIONS, PROBLEM_HEADERS, type RouteSettings, securityOf } from './openapi-responses.js'

/*
 * Completes the document @fastify/swagger builds from the route schemas: one `Problem`
 * schema referenced by every error response, served as `application/problem+json`; the
 * refusals each route can get from the API's plugins; the rate-limit headers; and the
 * security requirement each route's authentication mode means.
 */

const PROBLEM_MEDIA_TYPE = 'application/problem+json'
const PROBLEM_REF = '#/components/schemas/Problem'

/** Every header the document names, described once. */
const HEADERS: Record<string, { description: string, schema: Record<string, unknown> }> = {
  RateLimit: {
    description: 'The budget left in the current window and when it refills: `"<policy>";r=<remaining>;t=<seconds>`.',
    schema: { type: 'string' }
  },
  'RateLimit-Policy': {
    description: 'The budget that counted this request: `"<policy>";q=<quota>;w=<window seconds>`.',
    schema: { type: 'string' }
  },
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: 'The bearer challenge (RFC 6750): bare without a token, with `error` and `error_description` for a refused one.', schema: { type: 'string' } },
  Allow: { description: 'The methods the path has.', schema: { type: 'string' } },
  ETag: { description: 'The strong entity tag of the representation; send it back in `If-None-Match` (304 when unchanged) or `If-Match` (412 when it is no longer current).', schema: { type: 'string' } },
  Location: { description: 'The URL of the resource the request created.', schema: { type: 'string', format: 'uri' } }
}
const HEADER_NAMES = new Map(Object.keys(HEADERS).map((name) => [name.toLowerCase(), name]))

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

interface Response {
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, unknown>
}

interface Operation {
  security?: unknown
  responses?: Record<string, Response>
}

interface OpenApiObject {
  paths?: Record<string, Record<string, unknown> | undefined>
  components?: Record<string, unknown>
}

/** `METHOD /path/{param}`, the key a route and its operation share. */
export function operationKey (method: string, url: string): string {
  return `${method.toUpperCase()} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`
}

/** What the API's plugins read in a route's options; `defaultAuth` is the auth plugin's default mode. */
export function routeSettings (route: Pick<RouteOptions, 'config' | 'schema'>): RouteSettings {
  const config = (route.config ?? {}) as { auth?: AuthMode | false, rateLimit?: unknown, timeout?: unknown }
  return {
    auth: config.auth,
    rateLimited: config.rateLimit !== false,
    deadline: config.timeout !== false,
    body: route.schema?.body !== undefined
  }
}

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` })

/** The response's headers, known ones as references, plus `names`. */
function headersOf (response: Response, names: readonly string[]): Record<string, unknown> | undefined {
  const headers: Record<string, unknown> = {}
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const known = HEADER_NAMES.get(name.toLowerCase())
    headers[known ?? name] = known === undefined ? header : headerRef(known)
  }
  for (const name of names) headers[name] = headerRef(name)
  return Object.keys(headers).length === 0 ? undefined : headers
}

/** @fastify/swagger's placeholder, "Default Response", replaced by the status text. */
function successDescription (description: string | undefined, status: number): string {
  return description === undefined || description === 'Default Response' ? STATUS_CODES[status] ?? String(status) : description
}

function completeOperation (operation: Operation, settings: RouteSettings, defaultAuth: AuthMode): void {
  const responses = operation.responses ?? {}
  const rateLimitHeaders = settings.rateLimited ? ['RateLimit', 'RateLimit-Policy'] : []
  const statuses = new Set([...Object.keys(responses).map(Number), ...commonProblemStatuses(settings)])
  const completed: Record<string, Response> = {}
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const declared = responses[String(status)] ?? {}
    const response: Response = status >= 400
      ? { description: PROBLEM_DESCRIPTIONS[status] ?? 'A problem; `code` says which.', content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: PROBLEM_REF } } } }
      : { ...declared, description: successDescription(declared.description, status) }
    const headers = headersOf(declared, [...rateLimitHeaders, ...(PROBLEM_HEADERS[status] ?? [])])
    if (headers === undefined) delete response.headers
    else response.headers = headers
    completed[String(status)] = response
  }
  operation.responses = completed
  operation.security = securityOf(settings.auth ?? defaultAuth)
}

/**
 * The document with its error responses, headers and security completed from `routes`
 * (each operation's route settings, by `operationKey`). An operation without a route throws:
 * the document and the routes would disagree.
 */
export function completeDocument<T extends object> (input: T, routes: ReadonlyMap<string, RouteSettings>, defaultAuth: AuthMode): T {
  const document = input as OpenApiObject
  for (const [path, item = {}] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method] as Operation | undefined
      if (operation === undefined) continue
      const settings = routes.get(operationKey(method, path))
      if (settings === undefined) throw new Error(`The OpenAPI document has ${operationKey(method, path)}, which no route serves`)
      completeOperation(operation, settings, defaultAuth)
    }
  }
  const components = document.components ?? {}
  document.components = {
    ...components,
    schemas: { ...(components.schemas as Record<string, unknown> | undefined), Problem: JSON.parse(JSON.stringify(Problem)) },
    headers: HEADERS
  }
  return input
}
