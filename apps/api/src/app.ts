import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import configPlugin, { type ConfigStore } from '@muejam/config'
import dbPool from '@muejam/db-pool'
import health from '@muejam/health'
import type { FastifyInstance } from 'fastify'
import { registerAuthFallback } from './auth-fallback.js'
import { migrateToLatest } from './db/migrator.js'
import { dbPoolOptions } from './db/options.js'
import { registerDocs } from './docs.js'
import { registerModerators } from './moderators.js'
import { registerHttpsRedirect } from './plugins/https-redirect.js'
import { registerProblemHandlers } from './problem.js'
import meRoutes from './routes/me/index.js'
import storyRoutes from './routes/stories/index.js'
import { registerValidation } from './validation.js'
import { VERSION } from './version.js'

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

  registerValidation(fastify)
  registerAuthFallback(fastify)
  await fastify.register(health)
  // After health, so the database check registers with it.
  await fastify.register(dbPool, dbPoolOptions(config))
  // Before listening: ready() runs this, listen() waits for ready().
  if (config.MIGRATE_ON_START) fastify.addHook('onReady', () => migrateToLatest(fastify.db, fastify.log).then(() => {}))
  registerModerators(fastify)

  await registerDocs(fastify, VERSION)
  await fastify.register(meRoutes, { prefix: '/v1' })
  await fastify.register(storyRoutes, { prefix: '/v1' })
}
