import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import observability, { lazyChildLoggerFactory, loggerOptions, requestIdFrom, SecretRedactor } from '@muejam/observability'
import type { ServiceConfig } from './config.js'

/** Logs that never show a credential, a request id each response echoes, a request logger made at its first line. */
export function observabilityServerOptions (config: ServiceConfig): FastifyServerOptions {
  const secrets = new SecretRedactor([config.DATABASE_URL])
  return {
    logger: loggerOptions({ level: config.LOG_LEVEL, secrets }),
    genReqId: requestIdFrom,
    childLoggerFactory: lazyChildLoggerFactory
  }
}

/** Prometheus `/metrics`: request durations, and the counters each plugin registers under `notes_`. */
export async function registerObservability (app: FastifyInstance) {
  await app.register(observability, {
    prefix: 'notes_',
    metricsRouteConfig: { auth: false, rateLimit: false }
  })
}
