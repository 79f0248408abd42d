import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import timeouts, { serverTimeouts } from '@muejam/timeouts'
import type { ServiceConfig } from './config.js'

/** Socket limits for slow or silent clients, to spread into the Fastify options. */
export function timeoutServerOptions (config: ServiceConfig): FastifyServerOptions {
  return serverTimeouts({ requestTimeoutMs: Math.max(config.REQUEST_TIMEOUT_MS, 1000) })
}

/**
 * Every route's deadline: past it the client gets 504 `request_timeout` and `request.signal`
 * aborts, which cancels the route's running database query. Register before the routes.
 */
export async function registerTimeouts (app: FastifyInstance) {
  await app.register(timeouts, { timeoutMs: app.config.REQUEST_TIMEOUT_MS })
}
