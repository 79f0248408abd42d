import type { Server } from 'node:http'
import { SECRET_VARIABLES, type Config } from './config/index.js'
import { lazyChildLoggerFactory, loggerOptions, requestIdFrom, type SecretRedactor } from '@muejam/observability'
import { serverTimeouts } from '@muejam/timeouts'
import { sendProblem } from '@muejam/problem'
import type { FastifyHttpOptions } from 'fastify'
import { clientErrorHandler } from './plugins/protocol-errors.js'
import { toProblem } from './problem.js'
import { prettyLogStream, wantsPrettyLogs, type LogOutput } from './server-log-output.js'
import { RequestLogController } from './server-request-log.js'

/** Every secret value of the configuration, to scrub from logs and error reports. */
export function secretValues (config: Config): string[] {
  return SECRET_VARIABLES.flatMap((name) => {
    const value = config[name]
    return value === undefined ? [] : Array.isArray(value) ? value : [String(value)]
  })
}

/** Fastify options derived from the configuration; shared by the server and the tests. */
export function serverOptions (config: Config, secrets: SecretRedactor, output: LogOutput = process.stdout): FastifyHttpOptions<Server> {
  const timeouts = serverTimeouts({ requestTimeoutMs: Math.max(config.REQUEST_TIMEOUT_MS, 1000) })
  const logger = loggerOptions({ level: config.LOG_LEVEL, secrets })
  return {
    logger: wantsPrettyLogs(config, output) ? { ...logger, stream: prettyLogStream(output) } : logger,
    // Access logs belong to the load balancer; errors, audit events and lifecycle are logged,
    // and at debug one line per answered request.
    logController: new RequestLogController(),
    // A request's logger is made on its first line: most requests write none.
    childLoggerFactory: lazyChildLoggerFactory,
    trustProxy: config.TRUST_PROXY.length > 0 ? [...config.TRUST_PROXY] : false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestIdFrom,
    // Node checks socket limits once a second and the timeouts package takes them from 1 s
    // up: a shorter REQUEST_TIMEOUT_MS still bounds each handler, the socket gets 1 s.
    ...timeouts,
    // A request without Host reaches Fastify, which answers it with a problem.
    http: { ...timeouts.http, requireHostHeader: false },
    clientErrorHandler,
    // A request that reaches a closing server on a connection it already had is served (with
    // Connection: close) rather than refused: the pools stay open until the in-flight requests
    // end, and a load balancer may not resend a refused POST.
    return503OnClosing: false,
    // The embedded database's first start (initdb) and migrations can outlast Fastify's 10 s.
    ...(config.DATABASE_URL === undefined ? { pluginTimeout: 120_000 } : {}),
    forceCloseConnections: 'idle',
    // Malformed URLs are refused before any hook runs: still a problem body with a request id.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id)
      return sendProblem(reply, toProblem(error, request, false))
    }
  }
}
