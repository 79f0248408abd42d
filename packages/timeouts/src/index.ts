import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { MAX_TIMER_MS } from '@muejam/problem'
import { guardClientGone } from './client-gone.js'
import { InvalidRouteTimeoutError, RequestTimeoutError } from './errors.js'
import { option } from './options.js'
import { registerTimeoutMetric } from './timeout-metric.js'

export { InvalidOptionError, InvalidRouteTimeoutError, RequestTimeoutError } from './errors.js'
export { serverTimeouts, type ServerTimeouts, type ServerTimeoutsOptions } from './server-timeouts.js'

export interface TimeoutsOptions {
  /**
   * Deadline of every route, in milliseconds (`REQUEST_TIMEOUT_MS`), counted from the moment
   * the request is routed; `0` = none except where a route sets `config.timeout`. Default 30000.
   */
  timeoutMs?: number
}

export interface TimeoutStats {
  /** Requests answered 504 because their deadline passed. */
  timedOut: number
}

/** The `app.timeouts` decorator. */
export interface Timeouts {
  /** The default deadline in milliseconds (0 = none). */
  readonly timeoutMs: number
  readonly stats: TimeoutStats
}

declare module 'fastify' {
  interface FastifyInstance {
    timeouts: Timeouts
  }
  interface FastifyContextConfig {
    /** This route's deadline in milliseconds, or `false` for none. Default: the plugin's `timeoutMs`. */
    timeout?: number | false
  }
}

/** Fastify's own handler-timeout error, the reason `request.signal` is aborted with. */
function isHandlerTimeout (error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'FST_ERR_HANDLER_TIMEOUT'
}

function timedOut (request: FastifyRequest): boolean {
  return request.signal.aborted && isHandlerTimeout(request.signal.reason)
}

/**
 * What a route error handler throws goes to the enclosing handler through `reply.send`,
 * which would send a thrown non-Error (`{ statusCode, message }` objects, strings) as an
 * ordinary payload; an Error carrying the same fields is rendered as the error it was.
 */
function asError (value: unknown): Error {
  if (value instanceof Error) return value
  if (typeof value === 'object' && value !== null) {
    const { message } = value as { message?: unknown }
    return Object.assign(new Error(typeof message === 'string' ? message : 'A non-error value was thrown'), value)
  }
  return new Error(String(value))
}

type Handler = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown
type ErrorHandler = (this: FastifyInstance, error: unknown, request: FastifyRequest, reply: FastifyReply) => unknown

/** The deadline a route gets, or 0 for none. */
function routeDeadline (route: RouteOptions, defaultMs: number): number {
  const configured: unknown = route.config?.timeout
  if (configured === false) return 0
  if (configured !== undefined) {
    if (typeof configured !== 'number' || !Number.isInteger(configured) || configured < 1 || configured > MAX_TIMER_MS) {
      throw new InvalidRouteTimeoutError(String(route.method), route.url, JSON.stringify(configured) ?? String(configured))
    }
    return configured
  }
  // A route that set Fastify's own handlerTimeout keeps it.
  return route.handlerTimeout ?? defaultMs
}

/**
 * Sets `route[key]` to `wrap(current value)` and keeps that wrapper the outermost one when
 * onRoute hooks that run later wrap or replace the value again: each new value is wrapped
 * anew, and a wrapper that ends up inside another passes everything through untouched
 * (`isOutermost()` is then false). So the order in which plugins are registered does not
 * matter — a transaction wrapper added later still sees the handler's error and rolls back.
 */
function keepOutermost<F> (route: RouteOptions, key: 'handler' | 'errorHandler', wrap: (inner: F | undefined, isOutermost: () => boolean) => F) {
  const layer = (inner: F | undefined) => {
    const state = { active: true }
    return { state, fn: wrap(inner, () => state.active) }
  }
  let current = layer(route[key] as F | undefined)
  Object.defineProperty(route, key, {
    configurable: true,
    enumerable: true,
    get: () => current.fn,
    set: (next: F) => {
      current.state.active = false
      current = layer(next)
    }
  })
}

/**
 * Once the deadline has answered 504, the handler's own outcome has nowhere to go. Settling
 * the route's promise only when that 504 has been written keeps Fastify from sending the
 * late value or error as a second reply (which, with an async onSend hook still running,
 * would replace the 504 by Fastify's raw error), and drops it instead of logging it as an
 * error on every timeout.
 */
function afterDeadline (handler: Handler | undefined, isOutermost: () => boolean): Handler {
  const inner = handler as Handler
  return function deadlineHandler (this: FastifyInstance, request, reply) {
    const result = inner.call(this, request, reply)
    if (!isOutermost() || typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return result
    return (result as PromiseLike<unknown>).then(
      (value) => timedOut(request) ? reply : value,
      (error: unknown) => {
        if (!timedOut(request)) throw error
        request.log.debug({ err: error }, 'handler ended after the request deadline')
        return reply
      }
    )
  }
}

async function timeoutsPlugin (app: FastifyInstance, options: TimeoutsOptions) {
  // 0: no deadline except where a route sets one.
  const timeoutMs = option.milliseconds('timeoutMs', options.timeoutMs, { default: 30_000 })
  const stats: TimeoutStats = { timedOut: 0 }
  app.decorate('timeouts', { timeoutMs, stats })
  registerTimeoutMetric(app, stats)

  app.addHook('onRoute', (route) => {
    const deadline = routeDeadline(route, timeoutMs)
    if (deadline === 0) return
    // Fastify times the request from routing on, aborts request.signal and sends
    // FST_ERR_HANDLER_TIMEOUT; the route's error handler turns that into our 504.
    route.handlerTimeout = deadline
    guardClientGone(route)
    keepOutermost<Handler>(route, 'handler', afterDeadline)
    keepOutermost<ErrorHandler>(route, 'errorHandler', (own, isOutermost) => function deadlineErrorHandler (error, request, reply) {
      if (isOutermost() && isHandlerTimeout(error)) {
        stats.timedOut++
        const timeout = new RequestTimeoutError(deadline)
        if (own !== undefined) return own.call(this, timeout, request, reply)
        // Thrown from a route's error handler, an error goes to the enclosing one (the app's).
        throw timeout
      }
      if (own !== undefined) return own.call(this, error, request, reply)
      throw asError(error)
    })
  })
}

export const muejamTimeouts = fp(timeoutsPlugin, { name: '@muejam/timeouts', fastify: '>=5.12.0 <6' })
export default muejamTimeouts
