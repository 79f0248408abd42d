import auth from '@muejam/auth'
import configPlugin from '@muejam/config'
import dbPool from '@muejam/db-pool'
import health from '@muejam/health'
import observability, { type SecretRedactor } from '@muejam/observability'
import { traceIds } from '@muejam/tracing'
import problem from '@muejam/problem'
import rateLimit, { clientNetwork } from '@muejam/rate-limit'
import timeouts from '@muejam/timeouts'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { ConfigStore } from './config/index.js'
import { migrateToLatest } from './db/migrator.js'
import { dbPoolOptions } from './db/options.js'
import { authOptions, healthOptions, rateLimitOptions } from './plugin-options.js'
import cors from './plugins/cors.js'
import docs from './plugins/docs.js'
import httpsRedirect from './plugins/https-redirect.js'
import jsonDepth from './plugins/json-depth.js'
import moderators from './plugins/moderators.js'
import protocolProblems from './plugins/protocol-errors.js'
import securityHeaders from './plugins/security-headers.js'
import validation from './plugins/validation.js'
import { problemOptions } from './problem.js'
import meRoutes from './routes/me/index.js'
import methodNotAllowed from './routes/method-not-allowed.js'
import storyRoutes from './routes/stories/index.js'
import { secretValues } from './server-options.js'
import { VERSION } from './version.js'

export interface AppOptions {
  store: ConfigStore
  /** The redactor the logger scrubs with; rotated secrets are added to it. */
  secrets: SecretRedactor
}

/** The API as a plugin: every package registered around the routes, in hook order. */
async function app (fastify: FastifyInstance, { store, secrets }: AppOptions) {
  await fastify.register(configPlugin, { store })
  const config = fastify.config
  const production = config.NODE_ENV === 'production'
  store.on('rotate', () => { for (const value of secretValues(config)) secrets.add(value) })

  // Before any plugin that adds routes: a context takes its parent's error handler when it is
  // created, so /metrics refusals are problem+json too.
  await fastify.register(problem, problemOptions(config.DEBUG && !production))
  await fastify.register(methodNotAllowed)
  // Likewise for the validator: every route's schemas, health and metrics included.
  await fastify.register(validation)
  await fastify.register(jsonDepth)
  await fastify.register(protocolProblems)
  // First: its hooks time and identify every request, health probes included.
  await fastify.register(observability, {
    // The metric names docs/operations.md and the dashboards use.
    prefix: 'muejam_',
    // Read at each scrape: a token rotated in Secrets Manager applies without a restart.
    metricsToken: () => config.METRICS_TOKEN,
    metricsRouteConfig: { auth: false, rateLimit: false },
    sentryDsn: config.SENTRY_DSN,
    sentryEnvironment: config.NODE_ENV,
    sentryRelease: VERSION,
    // The request's trace and span ids, when tracing is on.
    sentryTags: traceIds,
    secrets
  })
  if (config.SECURE_SSL_REDIRECT) await fastify.register(httpsRedirect, { publicUrl: config.PUBLIC_URL })
  await fastify.register(securityHeaders, { hsts: config.SECURE_SSL_REDIRECT })
  await fastify.register(cors, { origins: config.CORS_ORIGINS })

  // Before authentication and rate limiting, whose hooks its routes never see.
  await fastify.register(health, healthOptions(config, VERSION))
  await fastify.register(timeouts, { timeoutMs: config.REQUEST_TIMEOUT_MS })
  await fastify.register(dbPool, dbPoolOptions(config))
  // Before listening: ready() runs this, listen() waits for ready().
  if (config.MIGRATE_ON_START) fastify.addHook('onReady', () => migrateToLatest(fastify.db, fastify.log).then(() => {}))
  await fastify.register(moderators)

  await fastify.register(auth, {
    ...await authOptions(config, fastify.log),
    onFailure: (request, reason, reply) => {
      fastify.auditLimited(`ip:${clientNetwork(request.ip)}`, { event: 'auth.failed', actor: null, outcome: 'failure', reason }, request)
      // A failed attempt draws on the client IP's anonymous budget: once it is spent, a 429
      // replaces the 401. Not when the keys are unavailable: the token may well be valid.
      return reason === 'auth_keys_unavailable' ? undefined : fastify.rateLimit.consume(request, reply)
    }
  })
  // After authentication: signed-in users are counted by user, moderators not at all.
  const limits = rateLimitOptions(config)
  await fastify.register(rateLimit, {
    ...limits,
    // Waits for the lookup no longer than for the store: a slow one counts as "not exempt".
    isExempt: (request) => request.auth !== null && fastify.moderators.isExempt(request.auth.userId, limits.storeTimeoutMs)
  })

  await fastify.register(docs, { version: VERSION, publicUrl: config.PUBLIC_URL })
  await fastify.register(meRoutes, { prefix: '/v1' })
  await fastify.register(storyRoutes, { prefix: '/v1' })
}

/** Shared scope, so the server reaches `health` and the pools for a graceful shutdown. */
export default fp(app, { name: '@muejam/api', fastify: '>=5.12.0 <6' })
