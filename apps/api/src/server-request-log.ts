import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

const DEBUG_LEVELS = new Set(['debug', 'trace'])

/**
 * Fastify's per-request lines, reduced to one: when a request has been answered, a
 * `request completed` line at debug with its method, route, status, duration and request
 * id (the `reqId` every request's lines carry). At info and above, as in production, there
 * are none: access logs belong to the load balancer. Fastify's other per-request lines
 * (incoming request, default error and not-found lines) stay off; the app logs its errors.
 */
export class RequestLogController extends LogController {
  constructor () {
    super({ disableRequestLogging: true })
  }

  override requestCompleted (_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Spares building the line when debug is off.
    if (!DEBUG_LEVELS.has(reply.log.level)) return
    reply.log.debug({
      method: request.method,
      // The route's pattern, not the URL: no ids or query strings; null when no route matched.
      route: request.routeOptions.url ?? null,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100
    }, 'request completed')
  }
}
