import { randomUUID } from 'node:crypto'
import { sendProblem } from '@muejam/problem'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { MethodNotAllowedError, RouteNotFoundError } from '../errors.js'
import { toProblem } from '../problem.js'

/** The order `Allow` lists methods in; any other method follows, alphabetically. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const rank = (method: string) => {
  const index = ORDER.indexOf(method)
  return index === -1 ? ORDER.length : index
}
const byRank = (a: string, b: string) => rank(a) - rank(b) || a.localeCompare(b)

/** The URL without its query string, which may carry secrets. */
const pathOf = (url: string) => url.split('?', 1)[0] as string

/**
 * The not-found handler of the whole API: a path that some route serves under another method
 * gets 405 `method_not_allowed` with `Allow`, any other 404 `route_not_found`. Registered
 * before every route, so its `onRoute` hook sees them all. The methods a path allows are
 * asked of Fastify's own router (`findRoute` with the request's URL), which matches as the
 * request itself was matched: same trailing-slash, case and decoding rules. A method served
 * on every path (CORS answers `OPTIONS *`) says nothing about this path and is left out.
 * Both answers come from the not-found handler, so the rate limit counts them as it counts 404s.
 */
async function methodNotAllowed (app: FastifyInstance): Promise<void> {
  const methods = new Set<string>()
  let everywhere = new Set<string>()
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) methods.add(method)
  })
  app.addHook('onReady', async () => {
    const nowhere = `/${randomUUID()}/${randomUUID()}`
    everywhere = new Set([...methods].filter((method) => app.findRoute({ method, url: nowhere }) !== null))
  })

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url)
    const allowed = [...methods]
      .filter((method) => !everywhere.has(method) && app.findRoute({ method, url: request.url }) !== null)
      .sort(byRank)
    // The request's own method among them: its route matched, and found nothing (a static file).
    const error = allowed.length === 0 || allowed.includes(request.method) ? new RouteNotFoundError(request.method, path) : new MethodNotAllowedError(request.method, allowed)
    if (error.headers !== undefined) reply.headers(error.headers)
    return sendProblem(reply, toProblem(error, request))
  })
}

export default fp(methodNotAllowed, { name: 'muejam-api-method-not-allowed', fastify: '>=5.12.0 <6' })
