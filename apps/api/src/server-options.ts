import type { Config } from '@muejam/config'
import { SECRET_VARIABLES } from '@muejam/config'
import type { Server } from 'node:http'
import type { FastifyHttpOptions } from 'fastify'
import { requestIdFrom } from './request-id.js'

/** Fastify options derived from the configuration; shared by the server and the tests. */
export function serverOptions (config: Config): FastifyHttpOptions<Server> {
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: {
        paths: [
          'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
          ...SECRET_VARIABLES.map((name) => `*.${name}`)
        ],
        censor: '[redacted]'
      }
    },
    trustProxy: config.TRUST_PROXY.length > 0 ? [...config.TRUST_PROXY] : false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: requestIdFrom,
    // Socket limits (SPEC §7): a whole request must arrive within requestTimeout, its
    // headers within headersTimeout; idle keep-alive sockets outlive a load balancer's 60 s.
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    connectionTimeout: config.REQUEST_TIMEOUT_MS + 10_000,
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 2000 },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array' } }
  }
}
