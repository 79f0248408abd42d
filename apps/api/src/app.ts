import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import configPlugin, { type ConfigStore } from '@muejam/config'
import health from '@muejam/health'
import type { FastifyInstance } from 'fastify'
import { registerHttpsRedirect } from './plugins/https-redirect.js'
import { registerProblemHandlers } from './problem.js'

export interface AppOptions {
  store: ConfigStore
}

/** The API as a plugin: every package registered around the routes. */
export default async function app (fastify: FastifyInstance, { store }: AppOptions) {
  await fastify.register(configPlugin, { store })
  const config = fastify.config
  const production = config.NODE_ENV === 'production'

  registerProblemHandlers(fastify, { debug: config.DEBUG && !production })
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  if (config.SECURE_SSL_REDIRECT) registerHttpsRedirect(fastify)

  await fastify.register(helmet, {
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    hsts: config.SECURE_SSL_REDIRECT ? { maxAge: 31_536_000, includeSubDomains: true } : false
  })
  await fastify.register(cors, {
    origin: config.CORS_ORIGINS.length > 0 ? [...config.CORS_ORIGINS] : false,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit', 'ratelimit-policy'],
    maxAge: 600
  })

  await fastify.register(health)
}
