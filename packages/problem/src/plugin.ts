import type { FastifyInstance } from 'fastify'
import { createOptionValidators } from './option-validators.js'
import { InvalidOptionError } from './errors.js'
import { DEFAULT_TYPE_BASE, pathOf, renderProblem, sendProblem, toProblem, type MapError, type RenderOptions } from './problem-body.js'

export interface ProblemOptions extends RenderOptions {
  /** Answer requests no route matches with a 404 `route_not_found` problem. Default: true. */
  notFound?: boolean
}

const option = createOptionValidators(InvalidOptionError)

function resolveOptions (options: ProblemOptions) {
  return {
    typeBase: option.string('typeBase', options.typeBase, { default: DEFAULT_TYPE_BASE, nonEmpty: true }),
    debug: option.boolean('debug', options.debug, { default: false }),
    mapError: option.func<MapError>('mapError', options.mapError),
    notFound: option.boolean('notFound', options.notFound, { default: true })
  }
}

/** Error and not-found handlers that answer `application/problem+json`. */
export async function problemPlugin (app: FastifyInstance, options: ProblemOptions): Promise<void> {
  const { typeBase, debug, mapError, notFound } = resolveOptions(options)

  app.setErrorHandler((thrown, request, reply) => {
    const { problem, headers } = renderProblem(thrown, request, { typeBase, debug, mapError })
    if (headers !== undefined) reply.headers(headers)
    if (problem.status >= 500) request.log.error({ err: thrown }, 'request failed')
    return sendProblem(reply, problem)
  })

  if (notFound) {
    app.setNotFoundHandler((request, reply) => {
      const error = Object.assign(new Error(`No route for ${request.method} ${pathOf(request.url)}`), { statusCode: 404, code: 'route_not_found' })
      return sendProblem(reply, toProblem(error, request, { typeBase, debug }))
    })
  }
}
