import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import type { AuditLog } from './audit.js'
import { clientNetwork } from './client-network.js'
import { MetricsUnauthorizedError } from './errors.js'

export interface MetricsRouteOptions {
  path: string
  /** Bearer token required to scrape, read at each scrape; no token leaves the route open. */
  token: () => string | null | undefined
  registry: Registry
  audit: AuditLog
  /** Extra route config for the host's other plugins (e.g. `{ auth: false }`). */
  routeConfig: Record<string, unknown>
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

const BEARER = /^Bearer +(\S+) *$/i

/** The bearer credential of the request, `null` when it sent none (or another scheme). */
function presented (request: FastifyRequest): string | null {
  const header = request.headers.authorization
  return typeof header === 'string' ? BEARER.exec(header)?.[1] ?? null : null
}

/** `GET <path>`: the registry in Prometheus text format; encapsulated (registered in its own context). */
export async function metricsRoute (app: FastifyInstance, options: MetricsRouteOptions) {
  const { path, token, registry, audit, routeConfig } = options

  app.get(path, {
    // A scrape every few seconds would otherwise double the request log volume.
    logLevel: 'warn',
    config: routeConfig as FastifyContextConfig
  }, async (request, reply) => {
    // Read now, not at registration: a token rotated in the host's configuration applies at once.
    const expected = token()
    if (expected) {
      const sent = presented(request)
      // Both sides hashed: timingSafeEqual gets equal-length buffers, and the time taken says
      // nothing about the token, not even its length.
      if (sent === null || !timingSafeEqual(digest(sent), digest(expected))) {
        audit.writeLimited(`metrics:${clientNetwork(request.ip)}`, {
          event: 'metrics.auth_failed',
          actor: null,
          target: path,
          outcome: 'failure',
          reason: sent === null ? 'token_missing' : 'token_invalid',
          ip: request.ip
        }, request)
        throw new MetricsUnauthorizedError(sent !== null)
      }
    }
    const body = await registry.metrics()
    return reply.type(registry.contentType).send(body)
  })
}
