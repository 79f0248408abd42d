import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface CorsOptions {
  /**
   * Origins granted: exact (`https://app.example.org`), or `scheme://host:*` for every port
   * of that host, the port-less origin included; none means no CORS answer at all.
   */
  origins: readonly string[]
}

const ANY_PORT = ':*'

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** What @fastify/cors matches an Origin header against: the string itself, or a pattern for `:*`. */
export function originMatcher (origin: string): string | RegExp {
  if (!origin.endsWith(ANY_PORT)) return origin
  return new RegExp(`^${escapeRegExp(origin.slice(0, -ANY_PORT.length))}(?::\\d{1,5})?$`)
}

/** CORS for the allowed browser origins, with preflights counted against the caller's rate limit. */
async function corsPlugin (app: FastifyInstance, { origins }: CorsOptions) {
  // Without allowed origins there is nothing for CORS to answer: browsers get no grant.
  if (origins.length === 0) return
  // CORS answers preflights in its own hook, before any route's limit: count them (per IP) first.
  app.addHook('onRequest', function limitPreflight (request, reply, done) {
    if (request.method === 'OPTIONS') app.rateLimit.onRequest.call(this, request, reply, done)
    else done()
  })
  await app.register(cors, {
    origin: origins.map(originMatcher),
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    // W3C trace context and baggage: a browser's trace continues into the API's.
    allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'if-match', 'if-none-match', 'traceparent', 'tracestate', 'baggage'],
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit', 'ratelimit-policy', 'etag', 'location', 'allow'],
    maxAge: 600
  })
}

export default fp(corsPlugin, { name: 'muejam-api-cors', fastify: '>=5.12.0 <6' })
